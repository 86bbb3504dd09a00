#!/usr/bin/env bash
# Real HTTP/2 clients against the mock (tests/sdk/transport.test.mjs, group h2): undici with
# allowH2 streams a chat completion over HTTP/2 by ALPN from `tailgate mock --tls` (trusting its CA
# through NODE_EXTRA_CA_CERTS) and by prior knowledge (h2c) from a plain mock, the ledger saying
# protocol h2; an AbortController abort resets that stream alone (close_kind rst_stream, with the
# code the client sends: NO_ERROR from undici, CANCEL from Node's http2) while another stream on
# the same connection runs to its end; the openai SDK on undici's fetch does the same, and the
# @anthropic-ai/sdk streams over HTTP/2 too. Needs node and tests/sdk/node_modules with undici
# (tests/sdk/run.sh installs it); SKIP without them. TAILGATE_BIN may point at the binary.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
bin=${TAILGATE_BIN:-$PWD/tailgate}
names="undici_h2_should_stream_chat_over_tls undici_h2_should_stream_chat_over_h2c undici_h2_abort_should_reset_only_its_stream node_http2_abort_should_reset_its_stream_with_cancel sdk_openai_h2_abort_should_reset_its_stream sdk_anthropic_h2_should_stream_messages"

skip_all() {
    for n in $names; do skip "$n" "$1"; done
    exit 0
}
command -v node >/dev/null 2>&1 || skip_all "node not found (scripts/deps.sh node)"
[ -d tests/sdk/node_modules ] || skip_all "no tests/sdk/node_modules (run tests/sdk/run.sh)"

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# start NAME ARGS...: a mock whose port ends up in $tmp/NAME.port; prints the port or nothing
start() {
    local name=$1 p
    shift
    "$bin" mock "$@" --port 0 --port-file "$tmp/$name.port" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    p=$!
    pids+=("$p")
    for _ in $(seq 1 200); do
        [ -s "$tmp/$name.port" ] && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
}
start tls --tls --ca-file "$tmp/ca.pem"
start plain
tls_port=$(cat "$tmp/tls.port" 2>/dev/null || true)
plain_port=$(cat "$tmp/plain.port" 2>/dev/null || true)
if [ -z "$tls_port" ] || [ -z "$plain_port" ]; then
    for n in $names; do fail "$n" "a mock did not start: $(cat "$tmp/tls.err" "$tmp/plain.err")"; done
    exit 1
fi

NODE_EXTRA_CA_CERTS="$tmp/ca.pem" timeout -k 5 150 node tests/sdk/transport.test.mjs h2 \
    --tls "https://127.0.0.1:$tls_port" --h2c "http://127.0.0.1:$plain_port" \
    >"$tmp/cases" 2>"$tmp/cases.err"
rc=$?
cat "$tmp/cases"
for n in $names; do
    grep -Eq "^(PASS|FAIL|SKIP) $n(:|$)" "$tmp/cases" ||
        fail "$n" "no result (exit $rc): $(tail -n 3 "$tmp/cases.err" | tr '\n' ' ')"
done
grep -q '^FAIL ' "$tmp/cases" && status=1

# both mocks stop cleanly on SIGTERM after serving the streams (an ASan build reports here)
why=
for i in 0 1; do
    kill "${pids[$i]}" 2>/dev/null
    wait "${pids[$i]}"
    rc=$?
    [ "$rc" -eq 0 ] || why="$why mock $i exited $rc: $(tail -n 5 "$tmp/$([ $i = 0 ] && echo tls || echo plain).err" | tr '\n' ' ')"
done
pids=()
if [ -z "$why" ]; then pass sdk_h2_mocks_should_exit_cleanly; else fail sdk_h2_mocks_should_exit_cleanly "$why"; fi
exit "$status"
