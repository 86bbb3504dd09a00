#!/usr/bin/env bash
# The official openai and @anthropic-ai/sdk Node SDKs stream from `tailgate mock --tls` over HTTPS
# (Node's https: HTTP/1.1), trusting the throwaway CA the mock wrote (--ca-file) through
# NODE_EXTRA_CA_CERTS, with verification on, and the ledger shows each stream exactly; the same
# client without that CA is refused. The cases are tests/sdk/transport.test.mjs (group https).
# Needs node and tests/sdk/node_modules (tests/sdk/run.sh installs it); SKIP without them.
# TAILGATE_BIN may point at the binary (default: ./tailgate).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
bin=${TAILGATE_BIN:-$PWD/tailgate}
sdk=$PWD/tests/sdk/node_modules/openai/index.mjs
names="sdk_tls_should_stream_over_https_with_the_mock_ca sdk_tls_anthropic_should_stream_messages_over_https sdk_tls_should_refuse_the_mock_without_its_ca"

skip_all() {
    for n in $names; do skip "$n" "$1"; done
    exit 0
}
command -v node >/dev/null 2>&1 || skip_all "node not found (scripts/deps.sh node)"
[ -f "$sdk" ] || skip_all "no tests/sdk/node_modules (run tests/sdk/run.sh)"

tmp=$(mktemp -d)
"$bin" mock --tls --ca-file "$tmp/ca.pem" --port 0 --port-file "$tmp/port" >"$tmp/mock.out" 2>"$tmp/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 200); do
    [ -s "$tmp/port" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
port=$(cat "$tmp/port" 2>/dev/null || true)
if [ -z "$port" ]; then
    for n in $names; do fail "$n" "the mock did not start: $(cat "$tmp/mock.err")"; done
    exit 1
fi

NODE_EXTRA_CA_CERTS="$tmp/ca.pem" timeout -k 5 90 node tests/sdk/transport.test.mjs https \
    --tls "https://127.0.0.1:$port" >"$tmp/cases" 2>"$tmp/cases.err"
rc=$?
cat "$tmp/cases"
for n in sdk_tls_should_stream_over_https_with_the_mock_ca sdk_tls_anthropic_should_stream_messages_over_https; do
    grep -Eq "^(PASS|FAIL|SKIP) $n(:|$)" "$tmp/cases" ||
        fail "$n" "no result (exit $rc): $(tail -n 3 "$tmp/cases.err" | tr '\n' ' ')"
done
grep -q '^FAIL ' "$tmp/cases" && status=1

# without the CA: Node's store does not hold a CA made a moment ago, and the mock sends its leaf
# certificate alone
cat >"$tmp/refused.mjs" <<JS
import OpenAI from '$sdk';
const c = new OpenAI({ apiKey: 'sk-tailgate-test', baseURL: 'https://127.0.0.1:$port/v1',
                       maxRetries: 0, timeout: 15000 });
try {
  const s = await c.chat.completions.create({ model: 'm', stream: true,
                                              messages: [{ role: 'user', content: 'hi' }] });
  for await (const ch of s) void ch;
  console.log('streamed');
} catch (e) {
  console.log('error ' + (e.cause?.cause?.code ?? e.cause?.code ?? e.code ?? e.message));
}
JS
got=$(env -u NODE_EXTRA_CA_CERTS timeout -k 5 30 node "$tmp/refused.mjs" 2>&1 | tail -n 1)
case "$got" in
'error UNABLE_TO_VERIFY_LEAF_SIGNATURE') pass sdk_tls_should_refuse_the_mock_without_its_ca ;;
*) fail sdk_tls_should_refuse_the_mock_without_its_ca "got $got" ;;
esac
exit "$status"
