#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine, or names the one command
# that would. Usage: deps.sh build|node|demo|conformance|fuzz|tools|h2
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
        # TLS on the mock's port: libevent's OpenSSL bufferevents (in libevent-dev) and OpenSSL
        pkg-config --exists libevent_openssl || missing+=(libevent-dev)
        pkg-config --exists openssl || missing+=(libssl-dev)
        # HTTP/2 framing on the servers' side (the mock's and refgw's port)
        pkg-config --exists libnghttp2 || missing+=(libnghttp2-dev)
        # CRC32 for AWS event-stream framing (Bedrock's streams)
        pkg-config --exists zlib || missing+=(zlib1g-dev)
    else
        missing+=(libevent-dev libcurl4-openssl-dev libcjson-dev libssl-dev libnghttp2-dev zlib1g-dev)
    fi
    command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
elif [ "$what" = demo ]; then
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
elif [ "$what" = conformance ]; then
    # the real gateways the conformance suite checks tailgate against (tests/conformance/)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
    command -v caddy >/dev/null 2>&1 || missing+=(caddy)
    # the HTTP/2 cases: the referee's HTTP/2 client (Debian's python3 with python3-h2) and
    # openssl for their throwaway certificate
    /usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || missing+=(python3-h2)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
elif [ "$what" = fuzz ]; then
    # clang and its libFuzzer runtime (tests/fuzz/, `make fuzz`); Debian ships the runtime apart
    # from clang, in libclang-rt-<version>-dev, which clang does not pull in
    if ! command -v clang >/dev/null 2>&1; then
        missing+=(clang libclang-rt-dev)
    else
        probe=$(mktemp)
        printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
            'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' |
            clang -x c -fsanitize=fuzzer,address,undefined -o "$probe" - >/dev/null 2>&1 ||
            missing+=("libclang-rt-$(clang -dumpversion 2>/dev/null | cut -d. -f1)-dev")
        [ "${missing[*]}" = libclang-rt--dev ] && missing=(libclang-rt-dev)
        rm -f "$probe"
    fi
elif [ "$what" = tools ]; then
    # the checkers the ecosystem tests validate tailgate's outputs with: xmllint (JUnit against
    # its XSD), promtool (the /metrics exposition), Debian's python3 with jsonschema
    # (results.json against docs/results.schema.json)
    command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    /usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || missing+=(python3-jsonschema)
    # and python3-yaml: tests/test_ci_recipes.sh reads action.yml and the GitLab example
    /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
elif [ "$what" = h2 ]; then
    # nghttpd, the independent HTTP/2 peer whose frame log tests/test_chaos_h2.c reads, and
    # openssl for the throwaway certificate of its TLS leg
    command -v nghttpd >/dev/null 2>&1 || missing+=(nghttp2-server)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    # nghttp and h2load (HTTP/2 clients with their own framing, for tests and bench/), and
    # python3-h2 for the conformance referee's HTTP/2 client
    command -v nghttp >/dev/null 2>&1 || missing+=(nghttp2-client)
    /usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || missing+=(python3-h2)
elif [ "$what" = node ]; then
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Debian's postinst scripts start the services they install (nginx on port 80, ...): a
    # policy-rc.d that exits 101 forbids it. One already in place is left as it is.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
            made_policy=1
    fi
    ok=1
    # one apt-get update for the whole of `make test` or `make demo`, however many of these
    # steps need packages: a stamp younger than an hour says it already ran
    stamp=${TMPDIR:-/tmp}/tailgate-apt-updated
    if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
        apt-get update -q >/dev/null && touch "$stamp" || ok=0
    fi
    [ "$ok" = 1 ] && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
        ok=0
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$ok" = 0 ]; then
        echo "deps: apt-get install ${missing[*]} failed" >&2
        exit 1
    fi
    exit 0
fi
echo "missing: ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
