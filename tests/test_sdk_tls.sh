#!/usr/bin/env bash
# The official openai Node SDK streams from `tailgate mock --tls` over HTTPS, trusting the
# throwaway CA the mock wrote (--ca-file) through NODE_EXTRA_CA_CERTS, with verification on; the
# same client without that CA is refused. Needs node and tests/sdk/node_modules (tests/sdk/run.sh
# installs it); SKIP without them. TAILGATE_BIN may point at the binary (default: ./tailgate).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
bin=${TAILGATE_BIN:-$PWD/tailgate}
sdk=$PWD/tests/sdk/node_modules/openai/index.mjs

if ! command -v node >/dev/null 2>&1; then
    skip sdk_tls_should_stream_over_https_with_the_mock_ca "node not found (scripts/deps.sh node)"
    exit 0
fi
if [ ! -f "$sdk" ]; then
    skip sdk_tls_should_stream_over_https_with_the_mock_ca "no tests/sdk/node_modules (run tests/sdk/run.sh)"
    exit 0
fi

tmp=$(mktemp -d)
"$bin" mock --tls --ca-file "$tmp/ca.pem" --port 0 --port-file "$tmp/port" >"$tmp/mock.out" 2>"$tmp/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 200); do
    [ -s "$tmp/port" ] && break
    sleep 0.05
done
port=$(cat "$tmp/port" 2>/dev/null || true)
if [ -z "$port" ]; then
    fail sdk_tls_should_stream_over_https_with_the_mock_ca "the mock did not start: $(cat "$tmp/mock.err")"
    exit 1
fi

cat >"$tmp/stream.mjs" <<JS
import OpenAI from '$sdk';
const c = new OpenAI({ apiKey: 'sk-tailgate-test', baseURL: 'https://127.0.0.1:$port/v1',
                       maxRetries: 0, timeout: 15000,
                       defaultHeaders: { 'x-tailgate-ttft-ms': '0', 'x-tailgate-tps': '200' } });
try {
  const s = await c.chat.completions.create({ model: 'm', stream: true, max_tokens: 4,
                                              messages: [{ role: 'user', content: 'hi' }] });
  let t = '';
  for await (const ch of s) t += ch.choices[0]?.delta?.content ?? '';
  console.log(JSON.stringify(t));
} catch (e) {
  console.log('error ' + (e.cause?.code ?? e.code ?? e.message));
}
JS

got=$(NODE_EXTRA_CA_CERTS="$tmp/ca.pem" timeout -k 5 30 node "$tmp/stream.mjs" 2>&1 | tail -n 1)
if [ "$got" = '" tok0 tok1 tok2 tok3"' ]; then
    pass sdk_tls_should_stream_over_https_with_the_mock_ca
else
    fail sdk_tls_should_stream_over_https_with_the_mock_ca "got $got"
fi

# without the CA: Node's store does not hold a CA made a moment ago
got=$(timeout -k 5 30 node "$tmp/stream.mjs" 2>&1 | tail -n 1)
case "$got" in
'error '*) pass sdk_tls_should_refuse_the_mock_without_its_ca ;;
*) fail sdk_tls_should_refuse_the_mock_without_its_ca "got $got" ;;
esac
exit $status
