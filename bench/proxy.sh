#!/usr/bin/env bash
# Chaos proxy overhead: streams SSE from `tailgate mock` directly and through `tailgate chaos
# proxy` (no toxics) in the same run, and prints a Markdown table: added delay per SSE event
# (p50/p99, from the mock ledger's generation time to the client's receive time) and the
# throughput ratio proxy/direct (a fast SSE stream, and raw TCP through a second proxy).
# Not a test: exits non-zero only when a run fails outright.
set -euo pipefail

cd "$(dirname "$0")/.."

TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
PROXYBENCH_BIN=${PROXYBENCH_BIN:-build/bench/proxybench}
BENCH_PROXY_ROUNDS=${BENCH_PROXY_ROUNDS:-8}
BENCH_PROXY_TOKENS=${BENCH_PROXY_TOKENS:-200}
BENCH_PROXY_TPS=${BENCH_PROXY_TPS:-200}
BENCH_PROXY_BULK_TOKENS=${BENCH_PROXY_BULK_TOKENS:-1000}
BENCH_PROXY_BLAST_MB=${BENCH_PROXY_BLAST_MB:-512}

tmp=$(mktemp -d /tmp/tailgate-proxybench.XXXXXX)
pids=()

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

if [[ ! -x $PROXYBENCH_BIN || $PROXYBENCH_BIN -ot bench/proxybench.c ]]; then
    make -s "$PROXYBENCH_BIN"
fi
if [[ ! -x $TAILGATE_BIN ]]; then
    make -s tailgate
fi

# wait_port FILE: prints the port once the file holds one; bounded to 10 s.
wait_port() {
    local f=$1 i
    for ((i = 0; i < 200; i++)); do
        if [[ -s $f ]]; then
            cat "$f"
            return 0
        fi
        sleep 0.05
    done
    return 1
}

"$TAILGATE_BIN" mock --port 0 --port-file "$tmp/mock" >/dev/null 2>"$tmp/mock.err" &
pids+=($!)
if ! mock_port=$(wait_port "$tmp/mock"); then
    log "bench/proxy: the mock did not start"
    cat "$tmp/mock.err" >&2
    exit 1
fi

"$TAILGATE_BIN" chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$mock_port" \
    --api 127.0.0.1:0 --port-file "$tmp/proxy" --api-port-file "$tmp/api" \
    >/dev/null 2>"$tmp/proxy.err" &
pids+=($!)
if ! proxy_port=$(wait_port "$tmp/proxy") || ! api_port=$(wait_port "$tmp/api"); then
    log "bench/proxy: the proxy did not start"
    cat "$tmp/proxy.err" >&2
    exit 1
fi

log "bench/proxy: mock :$mock_port, proxy :$proxy_port (api :$api_port)"
echo "### chaos proxy overhead"
echo
"$PROXYBENCH_BIN" --mock-port "$mock_port" --proxy-port "$proxy_port" --api-port "$api_port" \
    --rounds "$BENCH_PROXY_ROUNDS" --tokens "$BENCH_PROXY_TOKENS" --tps "$BENCH_PROXY_TPS" \
    --bulk-tokens "$BENCH_PROXY_BULK_TOKENS" --blast-mb "$BENCH_PROXY_BLAST_MB"
