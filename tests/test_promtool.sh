#!/usr/bin/env bash
# The Prometheus pages pass `promtool check metrics` (Debian's prometheus package; scripts/deps.sh
# tools installs it): the mock's /metrics and the chaos proxy API's /metrics, each after a couple
# of requests (a stream read to its end, one left early, both through the proxy), so every
# family, histograms included, has samples; and a run folder's metrics.prom. Prints PASS/FAIL/SKIP
# lines. TAILGATE_BIN may point at the binary (default: ./tailgate).
set -u
cd "$(dirname "$0")/.."
bin=${TAILGATE_BIN:-$PWD/tailgate}

if ! command -v promtool >/dev/null 2>&1; then
    why="promtool not found (scripts/deps.sh tools installs Debian's prometheus)"
    echo "SKIP promtool_should_accept_the_mock_metrics: $why"
    echo "SKIP promtool_should_accept_the_proxy_metrics: $why"
    echo "SKIP promtool_should_accept_the_run_metrics_file: $why"
    exit 0
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "SKIP promtool_should_accept_the_mock_metrics: curl not found"
    echo "SKIP promtool_should_accept_the_proxy_metrics: curl not found"
    echo "SKIP promtool_should_accept_the_run_metrics_file: curl not found"
    exit 0
fi

tmp=$(mktemp -d)
mock_pid=
proxy_pid=
cleanup() {
    [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_port FILE: waits (10 s at most) until FILE holds a port, prints it
wait_port() {
    for _ in $(seq 100); do
        if [ -s "$1" ]; then
            cat "$1"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

"$bin" mock --port 0 --port-file "$tmp/mock.port" >/dev/null 2>"$tmp/mock.err" &
mock_pid=$!
if ! mock_port=$(wait_port "$tmp/mock.port"); then
    echo "FAIL promtool_should_accept_the_mock_metrics: the mock did not start"
    cat "$tmp/mock.err" >&2
    exit 1
fi
"$bin" chaos proxy --name mock --listen 127.0.0.1:0 --upstream "127.0.0.1:$mock_port" \
    --api 127.0.0.1:0 --port-file "$tmp/proxy.port" --api-port-file "$tmp/api.port" \
    >/dev/null 2>"$tmp/proxy.err" &
proxy_pid=$!
if ! wait_port "$tmp/api.port" >/dev/null || ! proxy_port=$(wait_port "$tmp/proxy.port"); then
    echo "FAIL promtool_should_accept_the_proxy_metrics: the chaos proxy did not start"
    cat "$tmp/proxy.err" >&2
    exit 1
fi
api_port=$(cat "$tmp/api.port")

body='{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'
# a stream read to its end, through the proxy
curl -s --max-time 10 -o /dev/null -H 'Content-Type: application/json' \
    -H 'x-tailgate-length: 5' -H 'x-tailgate-ttft-ms: 0' -H 'x-tailgate-tps: 1000' \
    -d "$body" "http://127.0.0.1:$proxy_port/v1/chat/completions"
# one left after 0.3 s of a 10 tokens/s stream: a close, a stop lag
curl -s --max-time 0.3 -o /dev/null -H 'Content-Type: application/json' \
    -H 'x-tailgate-length: 1000' -H 'x-tailgate-ttft-ms: 0' -H 'x-tailgate-tps: 10' \
    -H 'X-Request-Id: promtool-abort' -d "$body" "http://127.0.0.1:$proxy_port/v1/chat/completions"
# the abort's record finished (bounded), so the histograms hold it
for _ in $(seq 100); do
    curl -s --max-time 5 "http://127.0.0.1:$mock_port/_tailgate/ledger?id=promtool-abort" |
        grep -Eq '"state": *"done"' && break
    sleep 0.1
done

status=0
# check NAME URL: fetches the page and runs promtool on it
check() {
    if ! curl -s --fail --max-time 10 -o "$tmp/page" "$2"; then
        echo "FAIL $1: GET $2 failed"
        status=1
        return
    fi
    if out=$(promtool check metrics <"$tmp/page" 2>&1); then
        echo "PASS $1 ($(grep -c '^# TYPE' "$tmp/page") families)"
    else
        echo "FAIL $1: promtool check metrics: $(echo "$out" | tr '\n' ';')"
        status=1
    fi
}
check promtool_should_accept_the_mock_metrics "http://127.0.0.1:$mock_port/metrics"
check promtool_should_accept_the_proxy_metrics "http://127.0.0.1:$api_port/metrics"

# the run folder's metrics.prom (node_exporter's textfile format), from a --direct control run
if ! timeout -k 5 120 "$bin" run --direct scenarios/control.json --out "$tmp/run" \
    >"$tmp/run.log" 2>&1; then
    echo "FAIL promtool_should_accept_the_run_metrics_file: tailgate run failed:" \
        "$(tail -n 1 "$tmp/run.log")"
    status=1
elif [ ! -f "$tmp/run/metrics.prom" ]; then
    echo "FAIL promtool_should_accept_the_run_metrics_file: no metrics.prom in the run folder"
    status=1
elif out=$(promtool check metrics <"$tmp/run/metrics.prom" 2>&1); then
    n=$(grep -c '^# TYPE' "$tmp/run/metrics.prom")
    echo "PASS promtool_should_accept_the_run_metrics_file ($n families)"
else
    echo "FAIL promtool_should_accept_the_run_metrics_file: $(echo "$out" | tr '\n' ';')"
    status=1
fi
exit $status
