#!/usr/bin/env bash
# The chaos client's HTTP/2 (nghttp2, chaos/h2pool.c) against its HTTP/1.1 (libcurl), in the
# same run: N streams of 100 tokens from `tailgate mock` (20 tokens/s), read whole, once over
# HTTP/1.1 (a connection each) and once over h2c (CLIENTH2_PER_CONN streams a connection). The
# figure is the client's own CPU per token counted, and its ratio to HTTP/1.1's.
set -u
cd "$(dirname "$0")/.."
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
STREAMS=${CLIENTH2_STREAMS:-"500 2000"}
PER_CONN=${CLIENTH2_PER_CONN:-100}
tmp=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null
"$TAILGATE_BIN" mock --port 0 --port-file "$tmp/port" >"$tmp/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")"
echo "| streams | protocol | tokens counted | wall s | client CPU s | client µs per token | vs HTTP/1.1 |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for n in $STREAMS; do
    base=
    for proto in 1.1 h2c; do
        /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$TAILGATE_BIN" chaos client --url "$url" \
            --http "$proto" --users-per-connection "$PER_CONN" \
            --header "x-tailgate-length: 100" --header "x-tailgate-tps: 20" \
            --header "x-tailgate-ttft-ms: 0" --requests "$n" --concurrency "$n" \
            --user action=complete --out "$tmp/recs.jsonl" 2>"$tmp/client.err"
        read -r wall user sys <"$tmp/time"
        line=$(python3 - "$n" "$proto" "$tmp/recs.jsonl" "$wall" "$user" "$sys" "$base" <<'PY'
import json, sys
n, proto, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
wall, user, sys_ = map(float, sys.argv[4:7])
recs = [json.loads(l) for l in open(path)]
tokens = sum(r["delivered_tokens"] for r in recs)
complete = sum(r["end"] == "complete" for r in recs)
cpu = user + sys_
per = cpu / tokens * 1e6 if tokens else float("nan")
base = float(sys.argv[7]) if sys.argv[7] else per
ratio = f"{per / base:.2f}x" if complete == n else "(streams lost: no ratio)"
print(f"{per}\t| {n} | {proto} | {tokens} | {wall:.1f} | {cpu:.2f} | {per:.2f} | {ratio} |")
PY
)
        [ "$proto" = 1.1 ] && base=${line%%$'\t'*}
        echo "${line#*$'\t'}"
    done
done
