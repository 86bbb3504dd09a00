// Real clients on the mock's transports: the official openai and @anthropic-ai/sdk SDKs over HTTPS
// (Node's https, HTTP/1.1) trusting the mock's throwaway CA through NODE_EXTRA_CA_CERTS, and
// HTTP/2 clients (undici with allowH2, the openai SDK on undici's fetch, Node's own http2) whose
// AbortController abort resets one stream while the other streams of that connection run on. The
// reset's code is the client's: undici closes the stream with NO_ERROR (0), Node's http2 with
// CANCEL (8), and the ledger's close_code shows which.
//
// Usage: node transport.test.mjs GROUP [--tls URL] [--h2c URL]
//   GROUP https: the HTTPS cases (needs --tls https://127.0.0.1:PORT of `tailgate mock --tls`)
//   GROUP h2:    the HTTP/2 cases (--tls as above; --h2c http://127.0.0.1:PORT of a plain mock)
// The caller starts the mocks and sets NODE_EXTRA_CA_CERTS to the mock's --ca-file. Prints one
// `PASS name`, `FAIL name: why` or `SKIP name: why` line per case. Every wait is bounded; ledger
// state is polled until a deadline. The admin API (ledger) is HTTP/1.1 only, so it is read with
// Node's global fetch, which does not offer h2.

import http2 from 'node:http2';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const group = argv[0];
const opt = (name) => {
  const i = argv.indexOf(name);
  return i > 0 && i + 1 < argv.length ? argv[i + 1] : null;
};
const TLS = opt('--tls');
const H2C = opt('--h2c');

const CASE_TIMEOUT_MS = 20_000;
const LEDGER_TIMEOUT_MS = 8_000;
const OPENAI_MODEL = 'gpt-4o-mini';
const ANTHROPIC_MODEL = 'claude-sonnet-5-5';
// TLS streams stay at or below 100 tokens/s with a 20 ms first token (docs/mockprov.md: a known
// stall under ASan at 500 tokens/s with no first-token delay).
const gen = (n, tps) => ({ 'x-tailgate-length': String(n), 'x-tailgate-tps': String(tps),
  'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' });
const SHORT = gen(8, 100);
const LONG = gen(1000, 50); // 20 s unless someone stops it
const OTHER_N = 60; // the stream that must outlive a reset beside it: 1.2 s at 50 tokens/s
const OTHER = gen(OTHER_N, 50);
const text = (n) => Array.from({ length: n }, (_, i) => ` tok${i}`).join('');
const countTokens = (s) => (s.match(/tok\d+/g) || []).length;

let status = 0;
const out = (line) => console.log(line.replace(/\s+/g, ' '));
const runTag = `${process.pid}-${Date.now().toString(36)}`;
const cid = (name) => `tr-${runTag}-${name}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

process.on('unhandledRejection', () => {}); // an aborted stream's helpers reject with nobody waiting

class CheckError extends Error {}
function check(cond, msg) { if (!cond) throw new CheckError(msg); }
function eq(actual, expected, what) {
  check(Object.is(actual, expected),
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
const errDesc = (e) => `${e?.constructor?.name || 'Error'}: ${e?.cause?.code ?? e?.code ?? ''} ${e?.message}`;

function summarize(r) {
  const keys = ['api', 'protocol', 'state', 'status', 'stop_reason', 'close_kind', 'close_code',
    'generated_tokens', 'written_tokens', 'billed_output_tokens'];
  return r ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, r[k]]))) : 'none';
}

// the last ledger record of `id` once it is done (and `extra` holds), polled until a deadline
async function ledgerDone(base, id, extra = () => true) {
  const deadline = Date.now() + LEDGER_TIMEOUT_MS;
  let last = null;
  while (Date.now() < deadline) {
    const r = await fetch(`${base}/_tailgate/ledger?id=${encodeURIComponent(id)}`,
      { signal: AbortSignal.timeout(5000) });
    const j = await r.json();
    check(r.status === 200 && Array.isArray(j.records), `ledger answered ${r.status}`);
    last = j.records.length ? j.records[j.records.length - 1] : null;
    if (last && last.state === 'done' && extra(last)) return last;
    await sleep(25);
  }
  throw new CheckError(`ledger record ${id} not done within ${LEDGER_TIMEOUT_MS} ms: ${summarize(last)}`);
}

// a stream read to its natural end, as the ledger must show it
function checkComplete(rec, api, protocol, n, label) {
  const s = `${label} (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  eq(rec.protocol, protocol, `${s} protocol`);
  eq(rec.status, 200, `${s} status`);
  eq(rec.stop_reason, 'natural', `${s} stop_reason`);
  eq(rec.close_kind, null, `${s} close_kind`);
  eq(rec.close_code, null, `${s} close_code`);
  eq(rec.generated_tokens, n, `${s} generated_tokens`);
  eq(rec.written_tokens, n, `${s} written_tokens`);
  eq(rec.billed_output_tokens, n, `${s} billed_output_tokens`);
}

// a stream whose client reset it over HTTP/2 with `code` after reading at least 3 tokens
function checkReset(rec, code, label) {
  const s = `${label} (${summarize(rec)})`;
  eq(rec.protocol, 'h2', `${s} protocol`);
  eq(rec.close_kind, 'rst_stream', `${s} close_kind`);
  eq(rec.close_code, code, `${s} close_code`);
  eq(rec.stop_reason, 'disconnect', `${s} stop_reason`);
  check(rec.t_peer_closed_ns !== null, `${s}: t_peer_closed_ns is null`);
  check(rec.written_tokens >= 3, `${s}: written_tokens < 3`);
  check(rec.generated_tokens < 1000, `${s}: generation was not stopped`);
}

// the other stream was under way when the reset arrived and went on to its end after it
function checkOutlived(other, reset, label) {
  const toks = other.token_t_ns || [];
  check(other.t_first_token_ns !== null && other.t_first_token_ns < reset.t_peer_closed_ns,
    `${label}: the other stream had not started when the reset arrived`);
  check(toks.length > 0 && toks[toks.length - 1] > reset.t_peer_closed_ns,
    `${label}: the other stream ended before the reset arrived`);
}

// an event to wait for: `p` resolves once `done()` is called, or rejects at the deadline
function waitFor(what, ms = 10_000) {
  let done;
  let timer;
  const p = new Promise((resolve, reject) => {
    done = resolve;
    timer = setTimeout(() => reject(new CheckError(`${what} not seen within ${ms} ms`)), ms);
  });
  return { p: p.finally(() => clearTimeout(timer)), done };
}

// ---------------------------------------------------------------------------------------------
// modules: missing ones make their cases SKIP with the reason

async function load(name) {
  try {
    const m = await import(name);
    return { m: m.default ?? m, why: null };
  } catch (e) {
    return { m: null, why: `${name} not installed in tests/sdk/node_modules (${e.code || e.message})` };
  }
}
const openai = await load('openai');
const anthropic = await load('@anthropic-ai/sdk');
let undici = { m: null, why: null };
{
  // undici 7 needs Node >= 20.18.1 (its package.json engines); allowH2 came with undici 5.22
  const [maj, min] = process.versions.node.split('.').map(Number);
  if (maj < 20 || (maj === 20 && min < 18)) {
    undici.why = `undici 7 needs Node >= 20.18.1, this is ${process.version}`;
  } else {
    try {
      undici = { m: require('undici'), why: null };
    } catch (e) {
      undici.why = `undici not installed in tests/sdk/node_modules (${e.code || e.message})`;
    }
  }
}

const cases = [];
const tc = (grp, name, needs, fn) => cases.push({ grp, name, needs, fn });

// ---------------------------------------------------------------------------------------------
// HTTPS (Node's https: HTTP/1.1)

tc('https', 'sdk_tls_should_stream_over_https_with_the_mock_ca', [openai], async () => {
  const id = cid('openai-https');
  const c = new openai.m({ apiKey: 'sk-tailgate-test', baseURL: `${TLS}/v1`, maxRetries: 0,
    timeout: 15_000 });
  const s = await c.chat.completions.create(
    { model: OPENAI_MODEL, stream: true, messages: [{ role: 'user', content: 'hi' }] },
    { headers: { ...SHORT, 'X-Request-Id': id } });
  let t = '';
  for await (const ch of s) t += ch.choices[0]?.delta?.content ?? '';
  eq(t, text(8), 'streamed text');
  checkComplete(await ledgerDone(TLS, id), 'chat', 'http/1.1', 8, 'openai over https');
});

tc('https', 'sdk_tls_anthropic_should_stream_messages_over_https', [anthropic], async () => {
  const id = cid('anthropic-https');
  const c = new anthropic.m({ apiKey: 'sk-ant-tailgate-test', baseURL: TLS, maxRetries: 0,
    timeout: 15_000 });
  const m = await c.messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] },
    { headers: { ...SHORT, 'X-Request-Id': id } }).finalMessage();
  eq(m.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), text(8), 'text');
  eq(m.stop_reason, 'end_turn', 'stop_reason');
  eq(m.usage.output_tokens, 8, 'usage.output_tokens');
  const rec = await ledgerDone(TLS, id);
  checkComplete(rec, 'messages', 'http/1.1', 8, 'anthropic over https');
  eq(m.usage.input_tokens, rec.billed_input_tokens, 'usage.input_tokens vs ledger');
});

// ---------------------------------------------------------------------------------------------
// HTTP/2

const chatBody = (extra = {}) => JSON.stringify({ model: OPENAI_MODEL, stream: true,
  messages: [{ role: 'user', content: 'hi' }], ...extra });
const chatHeaders = (gh, id) => ({ 'content-type': 'application/json',
  authorization: 'Bearer sk-tailgate-test', 'x-request-id': id, ...gh });

// An undici Client is one connection; with allowH2 its requests are streams of that connection.
// It still runs one request at a time unless `pipelining` allows more (its default is 1 whatever
// the protocol). `connects` counts the connections it opened.
function h2Client(base) {
  const c = new undici.m.Client(base, { allowH2: true, useH2c: base.startsWith('http:'),
    pipelining: 8, bodyTimeout: 15_000, headersTimeout: 15_000 });
  const st = { c, connects: 0 };
  c.on('connect', () => { st.connects++; });
  return st;
}

// one streamed chat completion through an undici Client; onText(snapshot) sees the text so far
async function undiciChat(c, gh, id, { signal, onText } = {}) {
  // undici holds a non-idempotent request (a POST) back while another runs, HTTP/2 or not:
  // `idempotent` lets the two streams share the connection at once
  const r = await c.request({ path: '/v1/chat/completions', method: 'POST', idempotent: true,
    headers: chatHeaders(gh, id), body: chatBody(), signal });
  eq(r.statusCode, 200, `${id} status`);
  let t = '';
  let buf = '';
  for await (const chunk of r.body) {
    buf += chunk.toString('utf8');
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      const d = ev.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
      if (!d || d === '[DONE]') continue;
      t += JSON.parse(d).choices?.[0]?.delta?.content ?? '';
      if (onText) onText(t);
    }
  }
  return t;
}

for (const [leg, which] of [['tls', () => TLS], ['h2c', () => H2C]]) {
  tc('h2', `undici_h2_should_stream_chat_over_${leg}`, [undici], async () => {
    const base = which();
    const st = h2Client(base);
    try {
      const id = cid(`undici-${leg}`);
      eq(await undiciChat(st.c, SHORT, id), text(8), 'streamed text');
      checkComplete(await ledgerDone(base, id), 'chat', 'h2', 8, `undici ${leg}`);
    } finally {
      await st.c.destroy();
    }
  });
}

tc('h2', 'undici_h2_abort_should_reset_only_its_stream', [undici], async () => {
  const st = h2Client(TLS);
  try {
    const idA = cid('undici-abort');
    const idB = cid('undici-other');
    const ac = new AbortController();
    const bStarted = waitFor('a first token of the other stream');
    const aGot3 = waitFor('3 tokens of the stream to abort');
    const b = undiciChat(st.c, OTHER, idB, { onText: (t) => { if (countTokens(t) >= 1) bStarted.done(); } });
    const a = undiciChat(st.c, LONG, idA, { signal: ac.signal,
      onText: (t) => { if (countTokens(t) >= 3) aGot3.done(); } })
      .then(() => null, (e) => e);
    await Promise.all([bStarted.p, aGot3.p]);
    ac.abort();
    const err = await a;
    check(err && err.name === 'AbortError', `aborted request: expected an AbortError, got ${errDesc(err)}`);
    eq(await b, text(OTHER_N), 'the other stream\'s text');
    const recA = await ledgerDone(TLS, idA);
    const recB = await ledgerDone(TLS, idB);
    // undici ends an aborted HTTP/2 request with stream.close(): RST_STREAM NO_ERROR (0)
    checkReset(recA, 0, 'aborted stream');
    checkComplete(recB, 'chat', 'h2', OTHER_N, 'the other stream');
    checkOutlived(recB, recA, 'undici');
    eq(st.connects, 1, 'connections the client opened');
  } finally {
    await st.c.destroy();
  }
});

tc('h2', 'node_http2_abort_should_reset_its_stream_with_cancel', [], async () => {
  // Node's own HTTP/2 client: a request aborted through its signal is reset with CANCEL (8)
  const sess = http2.connect(TLS);
  const opened = new Promise((resolve, reject) => {
    sess.once('connect', resolve);
    sess.once('error', reject);
  });
  try {
    await opened;
    check(sess.alpnProtocol === 'h2', `ALPN chose ${sess.alpnProtocol}`);
    const idA = cid('core-abort');
    const idB = cid('core-other');
    const stream = (gh, id, signal, onText) => new Promise((resolve, reject) => {
      const req = sess.request({ ':method': 'POST', ':path': '/v1/chat/completions',
        ...chatHeaders(gh, id) }, signal ? { signal } : {});
      let t = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { t += d; onText(t); });
      req.on('end', () => resolve(t));
      req.on('error', reject);
      req.end(chatBody());
    });
    const ac = new AbortController();
    const bStarted = waitFor('a first token of the other stream');
    const aGot3 = waitFor('3 tokens of the stream to abort');
    const b = stream(OTHER, idB, null, (t) => { if (countTokens(t) >= 1) bStarted.done(); });
    const a = stream(LONG, idA, ac.signal, (t) => { if (countTokens(t) >= 3) aGot3.done(); })
      .then(() => null, (e) => e);
    await Promise.all([bStarted.p, aGot3.p]);
    ac.abort();
    const err = await a;
    check(err && err.name === 'AbortError', `aborted request: expected an AbortError, got ${errDesc(err)}`);
    eq(countTokens(await b), OTHER_N, 'tokens of the other stream');
    const recA = await ledgerDone(TLS, idA);
    const recB = await ledgerDone(TLS, idB);
    checkReset(recA, 8, 'aborted stream');
    checkComplete(recB, 'chat', 'h2', OTHER_N, 'the other stream');
    checkOutlived(recB, recA, 'node:http2');
  } finally {
    sess.destroy();
  }
});

tc('h2', 'sdk_openai_h2_abort_should_reset_its_stream', [openai, undici], async () => {
  // the openai SDK on undici's fetch, its dispatcher an allowH2 Client: one HTTP/2 connection
  const st = h2Client(TLS);
  try {
    const c = new openai.m({ apiKey: 'sk-tailgate-test', baseURL: `${TLS}/v1`, maxRetries: 0,
      timeout: 15_000, fetch: undici.m.fetch, fetchOptions: { dispatcher: st.c } });
    const idA = cid('openai-h2-abort');
    const ac = new AbortController();
    const s = c.chat.completions.stream(
      { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { ...LONG, 'X-Request-Id': idA }, signal: ac.signal });
    const got3 = waitFor('3 tokens of the stream to abort');
    s.on('content', (_d, snap) => { if (countTokens(snap) >= 3) got3.done(); });
    const final = s.finalChatCompletion().then(() => null, (e) => e);
    await got3.p;
    ac.abort();
    const err = await final;
    check(err instanceof openai.m.APIUserAbortError,
      `finalChatCompletion after abort: expected APIUserAbortError, got ${errDesc(err)}`);
    checkReset(await ledgerDone(TLS, idA), 0, 'aborted SDK stream');

    // a second stream on the same client (the same connection) runs to its end
    const idB = cid('openai-h2-next');
    const cc = await c.chat.completions.stream(
      { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { ...SHORT, 'X-Request-Id': idB } }).finalChatCompletion();
    eq(cc.choices[0]?.message?.content, text(8), 'second stream content');
    checkComplete(await ledgerDone(TLS, idB), 'chat', 'h2', 8, 'second SDK stream');
    eq(st.connects, 1, 'connections the client opened');
  } finally {
    await st.c.destroy();
  }
});

tc('h2', 'sdk_anthropic_h2_should_stream_messages', [anthropic, undici], async () => {
  const st = h2Client(TLS);
  try {
    const c = new anthropic.m({ apiKey: 'sk-ant-tailgate-test', baseURL: TLS, maxRetries: 0,
      timeout: 15_000, fetch: undici.m.fetch, fetchOptions: { dispatcher: st.c } });
    const id = cid('anthropic-h2');
    const m = await c.messages.stream(
      { model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { ...SHORT, 'X-Request-Id': id } }).finalMessage();
    eq(m.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), text(8), 'text');
    checkComplete(await ledgerDone(TLS, id), 'messages', 'h2', 8, 'anthropic over h2');
  } finally {
    await st.c.destroy();
  }
});

// ---------------------------------------------------------------------------------------------

async function runCase(c) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`timed out after ${CASE_TIMEOUT_MS} ms`)),
      CASE_TIMEOUT_MS);
  });
  try {
    await Promise.race([c.fn(), timeout]);
    return null;
  } catch (e) {
    return e instanceof CheckError ? e.message : errDesc(e);
  } finally {
    clearTimeout(timer);
  }
}

const only = process.env.TRANSPORT_TEST_ONLY ? new RegExp(process.env.TRANSPORT_TEST_ONLY) : null;
for (const c of cases.filter((x) => x.grp === group && (!only || only.test(x.name)))) {
  const missing = c.needs.find((n) => n.m === null);
  if (missing) { out(`SKIP ${c.name}: ${missing.why}`); continue; }
  if (c.name.endsWith('_h2c') ? !H2C : !TLS) { out(`SKIP ${c.name}: no mock URL given`); continue; }
  const why = await runCase(c);
  if (why === null) out(`PASS ${c.name}`);
  else { out(`FAIL ${c.name}: ${why}`); status = 1; }
}
process.exit(status);
