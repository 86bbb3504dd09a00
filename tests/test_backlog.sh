#!/usr/bin/env bash
# Every listener takes a burst of connections without SYN retries: the mock, refgw, the chaos
# proxy and its API listen with a backlog of 4096 (or the system's net.core.somaxconn, when
# lower), where libevent's default is 128. Read from the kernel with ss (iproute2): a listening
# socket's Send-Q is its backlog. Prints PASS/FAIL/SKIP lines. TAILGATE_BIN and REFGW_BIN may
# point at the binaries.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
tg_clear_env
bin=${TAILGATE_BIN:-$PWD/tailgate}
refgw=${REFGW_BIN:-$PWD/build/refgw}
name=backlog_should_be_4096_on_every_listener
if ! command -v ss >/dev/null 2>&1; then
    skip "$name" "no ss to read a listener's backlog (Debian iproute2)"
    exit 0
fi
want=4096
max=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 4096)
[ "$max" -lt "$want" ] && want=$max

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_file FILE: until it holds something (bounded: 10 s)
wait_file() {
    for _ in $(seq 1 200); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

"$bin" mock --port 0 --port-file "$tmp/mock.port" >"$tmp/mock.log" 2>&1 &
pids+=($!)
wait_file "$tmp/mock.port" || { fail "$name" "the mock did not start"; exit 1; }
mock=$(cat "$tmp/mock.port")
"$refgw" --mode fixed --upstream "http://127.0.0.1:$mock" --listen 127.0.0.1:0 \
    --port-file "$tmp/refgw.port" >"$tmp/refgw.log" 2>&1 &
pids+=($!)
"$bin" chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$mock" --api 127.0.0.1:0 \
    --port-file "$tmp/proxy.port" --api-port-file "$tmp/api.port" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
for f in refgw proxy api; do
    wait_file "$tmp/$f.port" || { fail "$name" "$f did not start: $(cat "$tmp/$f.log")"; exit 1; }
done
bad=()
for f in mock refgw proxy api; do
    port=$(cat "$tmp/$f.port")
    got=$(ss -ltnH "sport = :$port" | awk '{print $3}' | head -n 1)
    [ "$got" = "$want" ] || bad+=("$f (port $port): backlog '${got}', want $want")
done
if [ ${#bad[@]} -eq 0 ]; then
    pass "$name"
else
    fail "$name" "${bad[*]}"
fi
exit $status
