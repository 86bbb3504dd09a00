#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine, or names the one command
# that would. Usage: deps.sh build|node|demo
set -u
what=${1:-build}
missing=()
if [ "$what" = build ]; then
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    command -v make >/dev/null 2>&1 || missing+=(make)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists libevent || missing+=(libevent-dev)
        pkg-config --exists libcurl || missing+=(libcurl4-openssl-dev)
        pkg-config --exists libcjson || missing+=(libcjson-dev)
    else
        missing+=(libevent-dev libcurl4-openssl-dev libcjson-dev)
    fi
    command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
elif [ "$what" = demo ]; then
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
elif [ "$what" = node ]; then
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
        echo "deps: apt-get install ${missing[*]} failed" >&2
        exit 1
    fi
    exit 0
fi
echo "missing: ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
