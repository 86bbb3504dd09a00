#!/usr/bin/env bash
# Abort soak: SOAK_CYCLES request cycles (default 10,000), each abandoned mid-headers, mid-body or
# mid-stream with a FIN or an RST, against a fresh `tailgate mock` and then through `tailgate
# chaos proxy` (no toxics) in front of another fresh mock. Prints the figures as tables: fd
# counts and VmRSS of every process before, right after and once settled, and ledger
# conservation from the mock's /metrics. Not a timed test: exits non-zero only when conservation
# fails, an fd leaks (settled > before + SOAK_FD_SLACK) or a run cannot start.
set -u
cd "$(dirname "$0")/.." || exit 1

TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
SOAK_BIN=${SOAK_BIN:-build/bench/soak}
SOAK_CYCLES=${SOAK_CYCLES:-10000}
SOAK_CONCURRENCY=${SOAK_CONCURRENCY:-32}
SOAK_SEED=${SOAK_SEED:-1}
SOAK_PATHS=${SOAK_PATHS:-"direct proxy"}
SOAK_FD_SLACK=${SOAK_FD_SLACK:-4}
SOAK_SETTLE_MS=${SOAK_SETTLE_MS:-10000}
# smaller than the mid-stream cycles of a run, so the ledger does drop records and the
# conservation check covers the reported drops, not only the records kept
SOAK_LEDGER_MAX=${SOAK_LEDGER_MAX:-1000}

tmp=$(mktemp -d /tmp/tailgate-soak.XXXXXX)
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

if [[ ! -x $SOAK_BIN || $SOAK_BIN -ot bench/soak.c ]]; then
    make -s "$SOAK_BIN" || exit 1
fi
if [[ ! -x $TAILGATE_BIN ]]; then
    make -s tailgate || exit 1
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

# stop PID: SIGTERM, then SIGKILL after 3 s.
stop() {
    local p=$1 i q keep=()
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${pids[@]}"; do
        [[ $q == "$p" ]] || keep+=("$q")
    done
    pids=("${keep[@]+"${keep[@]}"}")
}

# run_path PATH: a fresh mock (and proxy), the soak, its lines appended to results.
run_path() {
    local path=$1 mock_pid mock_port port proxy_pid="" watch rc=0
    rm -f "$tmp/mock.port" "$tmp/proxy.port" "$tmp/api.port"
    "$TAILGATE_BIN" mock --port 0 --port-file "$tmp/mock.port" --ledger-max "$SOAK_LEDGER_MAX" \
        >/dev/null 2>"$tmp/mock.$path.err" &
    mock_pid=$!
    pids+=("$mock_pid")
    if ! mock_port=$(wait_port "$tmp/mock.port"); then
        log "bench/soak: the mock did not start"
        cat "$tmp/mock.$path.err" >&2
        return 1
    fi
    port=$mock_port
    watch=(--watch "mock:$mock_pid")
    if [[ $path == proxy ]]; then
        "$TAILGATE_BIN" chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$mock_port" \
            --api 127.0.0.1:0 --port-file "$tmp/proxy.port" --api-port-file "$tmp/api.port" \
            >/dev/null 2>"$tmp/proxy.err" &
        proxy_pid=$!
        pids+=("$proxy_pid")
        if ! port=$(wait_port "$tmp/proxy.port") || ! wait_port "$tmp/api.port" >/dev/null; then
            log "bench/soak: the proxy did not start"
            cat "$tmp/proxy.err" >&2
            return 1
        fi
        watch=(--watch "proxy:$proxy_pid" "${watch[@]}")
    fi
    log "bench/soak: $path, $SOAK_CYCLES cycles, $SOAK_CONCURRENCY in flight (mock :$mock_port, cycles to :$port)"
    "$SOAK_BIN" --port "$port" --admin-port "$mock_port" --cycles "$SOAK_CYCLES" \
        --concurrency "$SOAK_CONCURRENCY" --seed "$SOAK_SEED" --label "$path" \
        --fd-slack "$SOAK_FD_SLACK" --settle-ms "$SOAK_SETTLE_MS" "${watch[@]}" \
        >"$tmp/$path.out" 2>"$tmp/$path.err" || rc=$?
    sed 's/^/    /' "$tmp/$path.err" >&2
    [[ -n $proxy_pid ]] && stop "$proxy_pid"
    stop "$mock_pid"
    if ! grep -q '^result ' "$tmp/$path.out"; then
        log "bench/soak: the $path soak printed no result ($rc)"
        return 1
    fi
    cat "$tmp/$path.out" >>"$tmp/results"
    return "$rc"
}

failed=0
for path in $SOAK_PATHS; do
    run_path "$path" || failed=1
done
[[ -s $tmp/results ]] || { log "bench/soak: no results"; exit 1; }

echo "### abort soak"
echo
awk '
{
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if ($1 == "result") {
        nr++
        res[nr] = sprintf("| %s | %d | %.1f | %d | %d / %d | %d / %d | %d / %d | %d |",
            f["path"], f["cycles"], f["elapsed_ms"] / 1000, f["cycles_per_s"],
            f["mid_headers_fin"], f["mid_headers_rst"], f["mid_body_fin"], f["mid_body_rst"],
            f["mid_stream_fin"], f["mid_stream_rst"], f["errors"])
        led[nr] = sprintf("| %s | %d | %d | %d | %s | %d | %d | %d / %d | %d / %d | %d | %d | **%s** |",
            f["path"], f["accepted"], f["recorded"], f["dropped"], f["ledger_ok"] ? "yes" : "NO",
            f["streams_sent"], f["bad_requests"], f["closes_fin"], f["mid_stream_fin"],
            f["closes_rst"], f["mid_stream_rst"], f["tail_tokens"], f["active_after"],
            f["conserved"] ? "conserved" : "NOT CONSERVED")
    } else if ($1 == "proc") {
        np++
        proc[np] = sprintf("| %s | %s | %d | %d | %d | %d | %d | %d | %+d | %s |",
            f["path"], f["name"], f["fds_before"], f["fds_after"], f["fds_settled"],
            f["rss_before_kib"], f["rss_after_kib"], f["rss_settled_kib"],
            f["rss_settled_kib"] - f["rss_before_kib"], f["fd_leak"] ? "**LEAK**" : "none")
    }
}
END {
    print "| path | cycles | elapsed s | cycles/s | mid-headers FIN / RST | mid-body FIN / RST | mid-stream FIN / RST | errors |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nr; i++) print res[i]
    print ""
    print "| path | accepted | recorded | dropped | accepted = recorded + dropped | streams sent | bad requests | closes seen FIN / sent | closes seen RST / sent | tail tokens | left generating | ledger |"
    print "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"
    for (i = 1; i <= nr; i++) print led[i]
    print ""
    print "| path | process | fds before | fds after | fds settled | RSS before KiB | RSS after KiB | RSS settled KiB | RSS growth KiB | fd leak |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for (i = 1; i <= np; i++) print proc[i]
}' "$tmp/results"
echo
echo "settled: the mock has no generation left and every process is back to its fd count from before (or ${SOAK_SETTLE_MS} ms passed); an fd leak is settled > before + ${SOAK_FD_SLACK}. Ledger capacity ${SOAK_LEDGER_MAX}, seed ${SOAK_SEED}."
if ((failed)); then
    echo "bench/soak: FAILED (conservation, an fd leak, or a run that did not start; see above)"
fi
exit "$failed"
