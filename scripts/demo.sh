#!/usr/bin/env bash
# The demo until the runner lands: start mockprov, stream one response to the end, then abandon
# the same request mid-stream against three vendor profiles and show what each one billed.
set -eu
cd "$(dirname "$0")/.."
command -v curl >/dev/null 2>&1 || { echo "demo: missing curl; run: sudo apt-get install -y curl" >&2; exit 1; }
dir=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
./tailgate mock --port 0 --port-file "$dir/port" >"$dir/url" 2>"$dir/mock.log" &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
[ -s "$dir/port" ] || { echo "demo: the mock did not start: $(cat "$dir/mock.log")" >&2; exit 3; }
base="http://127.0.0.1:$(cat "$dir/port")"
echo "mockprov listening on $base"
echo
echo "== one streamed chat completion (12 tokens, include_usage) =="
curl -sN "$base/v1/chat/completions" -H 'x-tailgate-length: 12' -H 'x-tailgate-tps: 40' \
    -H 'x-tailgate-ttft-ms: 100' -H 'X-Request-Id: demo-complete' \
    -d '{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say something."}]}' \
 >"$dir/stream.txt"
printf 'text:  %s\n' "$(grep -o '"content":"[^"]*"' "$dir/stream.txt" | cut -d'"' -f4 | tr -d '\n')"
printf 'usage: %s\n' "$(grep -o '"usage":{[^}]*}' "$dir/stream.txt")"
printf 'end:   %s\n' "$(tail -2 "$dir/stream.txt" | head -1)"
echo
echo "== the user leaves after ~1 s of a 400-token answer (30 tokens/s) =="
printf '%-17s %-10s %-9s %-7s %9s %9s %6s %7s\n' profile disconnect bill report generated written tail billed
for p in vendor-a-pre vendor-b-post runaway; do
    curl -sN --max-time 1 "$base/v1/chat/completions" -H "x-tailgate-profile: $p" \
        -H 'x-tailgate-length: 400' -H 'x-tailgate-tps: 30' -H 'x-tailgate-ttft-ms: 0' \
        -H "X-Request-Id: demo-$p" \
        -d '{"model":"demo","stream":true,"messages":[{"role":"user","content":"Write an essay."}]}' \
        >/dev/null 2>&1 || true
done
num() { grep -o "\"$1\":[0-9]*" <<<"$2" | head -1 | cut -d: -f2; }
for p in vendor-a-pre vendor-b-post runaway; do
    rec=
    for _ in $(seq 1 300); do # bounded: the runaway vendor needs ~13 s to reach its natural end
        rec=$(curl -s "$base/_tailgate/ledger?id=demo-$p")
        grep -q '"state":"done"' <<<"$rec" && break
        sleep 0.05
    done
    line=$(./tailgate profiles | grep "^$p ")
    printf '%-17s %-10s %-9s %-7s %9s %9s %6s %7s\n' "$p" \
        "$(sed 's/.*disconnect=\([^ ]*\).*/\1/' <<<"$line")" "$(sed 's/.*bill=\([^ ]*\).*/\1/' <<<"$line")" \
        "$(sed 's/.*report=\([^ ]*\).*/\1/' <<<"$line")" \
        "$(num generated_tokens "$rec")" "$(num written_tokens "$rec")" "$(num tail_tokens "$rec")" \
        "$(num billed_output_tokens "$rec")"
done
echo
echo "invoice ($base/_tailgate/invoice.csv):"
curl -s "$base/_tailgate/invoice.csv" | cut -d, -f2,5,6,8,11 | column -t -s,
