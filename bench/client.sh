#!/usr/bin/env bash
# Chaos-client capacity: how many concurrent streams one core of `tailgate chaos client` can
# read and count. It reads N streams (20 tokens/s each, from the minimal epoll floor server so
# the server costs as little as possible) and we divide by the CPU it used:
# streams per core = N x wall / (user + system CPU).
set -u
cd "$(dirname "$0")/.."
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
FLOOR_BIN=${FLOOR_BIN:-build/bench/floor}
LOAD_BIN=${LOAD_BIN:-build/bench/load}
STREAMS=${CLIENT_STREAMS:-"500 2000"}
tmp=$(mktemp -d)
floor_pid=
cleanup() { [ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null
"$FLOOR_BIN" >"$tmp/floor.url" 2>"$tmp/floor.log" &
floor_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/floor.url" ] && break; sleep 0.05; done
url=$(head -1 "$tmp/floor.url")
echo "| streams | tokens counted | wall s | client CPU s | streams per core | µs per token | C client µs per token | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $STREAMS; do
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$TAILGATE_BIN" chaos client --url "$url" \
        --header "x-tailgate-length: 100" --requests "$n" --concurrency "$n" \
        --user action=complete --out "$tmp/recs.jsonl" 2>/dev/null
    read -r wall user sys <"$tmp/time"
    # The minimal C client (bench/load.c) reads the same N streams of 100 tokens in the same
    # run; its own CPU over the tokens it was sent is the baseline of the ratio.
    "$LOAD_BIN" --url "$url" --streams "$n" --tps 20 --length 100 --ramp-ms 0 --warmup-ms 0 \
        --window-ms 5200 >"$tmp/load.out" 2>"$tmp/load.err"
    python3 - "$n" "$tmp/recs.jsonl" "$wall" "$user" "$sys" "$tmp/load.out" "$tmp/load.err" <<'PY'
import json, re, sys
n = int(sys.argv[1])
tokens = sum(json.loads(l)["delivered_tokens"] for l in open(sys.argv[2]))
wall, user, sys_ = map(float, sys.argv[3:6])
cpu = user + sys_
us = 1e6 * cpu / tokens if tokens else float("inf")
out, err = open(sys.argv[6]).read(), open(sys.argv[7]).read()
m, d = re.search(r"client_cpu_s=([0-9.]+)", out), re.search(r"done=([0-9]+)", err)
if m and d and int(d.group(1)) == n:
    c_us = 1e6 * float(m.group(1)) / (n * 100)
    base = f"{c_us:.2f} | {us / c_us:.2f}x"
else:
    base = "lost | -"
print(f"| {n} | {tokens} | {wall:.1f} | {cpu:.2f} | {n * wall / cpu if cpu else float('inf'):.0f} | {us:.2f} | {base} |")
PY
done
