#!/usr/bin/env bash
# Client workers: `tailgate run --direct --workers W` against one mock the bench starts (so its
# CPU is counted apart), the same scenario and seed with W = 1 and W = 2 in the same run. Each
# row: the tokens the users counted, the wall time of the scenario's traffic, the tokens per
# second, the CPU of the runner and its workers (what /usr/bin/time counts: the run and the
# children it reaped), its µs per token, and the mock's CPU over the same run; the last line
# gives W=2 over W=1 as ratios. With the mock on the same cores, a ratio near 1 says the mock,
# not the client, was the bottleneck (see its CPU column).
set -u
cd "$(dirname "$0")/.."
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
STREAMS=${WORKERS_STREAMS:-500}
TPS=${WORKERS_TPS:-200}
LENGTH=${WORKERS_LENGTH:-400}
REQUESTS=${WORKERS_REQUESTS:-$((STREAMS * 2))}
tmp=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null
cat >"$tmp/load.json" <<JSON
{"name": "load", "description": "Users read long answers to the end.",
 "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 0, "tps": $TPS, "jitter": 0, "length": $LENGTH},
 "traffic": {"requests": $REQUESTS, "concurrency": $STREAMS}, "timeout_ms": 120000,
 "users": [{"action": "complete", "weight": 1}], "settle_ms": 2000,
 "gates": {"delivered_tokens": ["min>=1"]}}
JSON
"$TAILGATE_BIN" mock --port 0 --port-file "$tmp/mock.port" --ledger-max 1000000 \
    >"$tmp/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/mock.port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/mock.port")"
cpu_of() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
echo "| workers | tokens counted | traffic s | tokens/s | runner+workers CPU s | µs per token | mock CPU s |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for w in 1 2; do
    m0=$(cpu_of "$mock_pid")
    /usr/bin/time -f "%e %U %S" -o "$tmp/time$w" "$TAILGATE_BIN" run --direct --mock-url "$url" \
        --seed 1 --workers "$w" --out "$tmp/run$w" "$tmp/load.json" >/dev/null 2>"$tmp/run$w.err"
    m1=$(cpu_of "$mock_pid")
    python3 - "$w" "$tmp/run$w/results.json" "$tmp/time$w" "$m0" "$m1" "$tmp/row$w" <<'PY'
import json, sys
w, res, tfile, m0, m1, row = sys.argv[1:]
s = json.load(open(res))["scenarios"][0]
tokens = sum(q["delivered_tokens"] or 0 for q in s["requests_detail"])
_, user, sys_ = map(float, open(tfile).read().split()[-3:])
cpu, traffic = user + sys_, s["traffic_s"]
rate, us = tokens / traffic, 1e6 * cpu / tokens
mock = float(m1) - float(m0)
print(f"| {w} ({s.get('workers')}) | {tokens} | {traffic:.2f} | {rate:.0f} | {cpu:.2f} | {us:.2f} | {mock:.2f} |")
open(row, "w").write(f"{rate} {us}")
PY
done
read -r r1 u1 <"$tmp/row1"
read -r r2 u2 <"$tmp/row2"
python3 -c "import sys; r1,u1,r2,u2=map(float,sys.argv[1:]); print(f'W=2 / W=1: tokens/s {r2/r1:.2f}x, client µs per token {u2/u1:.2f}x')" \
    "$r1" "$u1" "$r2" "$u2"
