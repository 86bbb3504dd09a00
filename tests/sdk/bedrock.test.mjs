// Real clients for AWS Bedrock against `tailgate mock`: @aws-sdk/client-bedrock-runtime
// (ConverseStream, Converse, InvokeModelWithResponseStream, their errors) and the Vercel AI
// SDK's @ai-sdk/amazon-bedrock provider, each with a dummy credential (the requests are SigV4
// signed; the mock records that and does not verify) and the endpoint pointed at the mock. The
// usage each client reports is what the ledger bills; an AbortController abort is the peer's
// close.
//
// Usage: node bedrock.test.mjs        (TAILGATE_BIN overrides the binary, default ../../tailgate)
// Output: one line per case, then `bedrock: N passed, N failed, N skipped`; exit code 1 when any
// case failed. A case whose package is not installed is a SKIP naming it.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, check, eq, sleep, startMock, stopMock } from './mockproc.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 15_000;
const LEDGER_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const CREDENTIALS = { accessKeyId: 'AKIDTAILGATETEST', secretAccessKey: 'tailgate-dummy-secret' };
const REGION = 'us-east-1';

const gen = (n, tps) => ({ 'x-tailgate-length': String(n), 'x-tailgate-tps': String(tps),
  'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' });
const SHORT = gen(8, 200);
const LONG = gen(1000, 50);
const text = (n, from = 0) => Array.from({ length: n }, (_, i) => ` tok${from + i}`).join('');

async function load(name) {
  try {
    return { m: await import(name), why: null };
  } catch (e) {
    return { m: null, why: `${name} not installed in tests/sdk/node_modules (${e.code || e.message})` };
  }
}
const brt = await load('@aws-sdk/client-bedrock-runtime');
const ai = await load('ai');
const aiBedrock = await load('@ai-sdk/amazon-bedrock');

function errDesc(e) {
  if (!e) return String(e);
  const st = e.$metadata?.httpStatusCode !== undefined ? ` status=${e.$metadata.httpStatusCode}` : '';
  return `${e.name || e.constructor?.name || 'Error'}${st}: ${String(e.message).slice(0, 300)}`;
}

let BASE = null;
const runTag = `${process.pid}-${Date.now().toString(36)}`;
const cid = (name) => `br-${runTag}-${name}`;
// the correlation id rides in the prompt: the SDKs send no X-Request-Id of ours
const prompt = (id) => `hello [tg:${id}]`;

function summarize(rec) {
  const keys = ['api', 'protocol', 'stream', 'sigv4', 'state', 'status', 'stop_reason', 'close_kind',
    'generated_tokens', 'written_tokens', 'billed_input_tokens', 'billed_output_tokens', 'usage_reported'];
  return rec ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, rec[k]]))) : 'none';
}

async function ledgerRecords(id) {
  const p = `/_tailgate/ledger?correlation_id=${encodeURIComponent(id)}`;
  const r = await fetch(`${BASE}${p}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const body = await r.text();
  check(r.status === 200, `GET ${p} -> ${r.status} ${body.slice(0, 200)}`);
  return JSON.parse(body).records;
}

async function ledgerDone(id) {
  const deadline = Date.now() + LEDGER_TIMEOUT_MS;
  let recs = [];
  while (Date.now() < deadline) {
    recs = await ledgerRecords(id);
    if (recs.length === 1 && recs[0].state === 'done') return recs[0];
    check(recs.length <= 1, `ledger holds ${recs.length} records for ${id} (a retry?): ${recs.map(summarize).join(' ')}`);
    await sleep(25);
  }
  throw new CheckError(`ledger record for ${id} not done within ${LEDGER_TIMEOUT_MS} ms; last: ${summarize(recs[0])}`);
}

function checkComplete(rec, api, n, label) {
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  eq(rec.status, 200, `${s} status`);
  eq(rec.stop_reason, 'natural', `${s} stop_reason`);
  eq(rec.generated_tokens, n, `${s} generated_tokens`);
  eq(rec.billed_output_tokens, n, `${s} billed_output_tokens`);
  eq(rec.sigv4, true, `${s} sigv4 (the SDK signs every request)`);
  eq(rec.model, MODEL, `${s} model (percent-decoded from the path)`);
}

// kinds: the closes the client's transport can make (HTTP/1.1: fin or rst; HTTP/2: the stream's
// reset or the session's GOAWAY)
function checkPeerClose(rec, api, label, kinds = ['fin', 'rst']) {
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  check(kinds.includes(rec.close_kind), `${s}: close_kind is not one of ${kinds.join(', ')}`);
  check(rec.t_peer_closed_ns !== null, `${s}: t_peer_closed_ns is null`);
  eq(rec.stop_reason, 'disconnect', `${s} stop_reason`);
  check(rec.written_tokens >= 3, `${s}: written_tokens < 3`);
  check(rec.generated_tokens < 1000, `${s}: generation was not stopped`);
}

async function within(ms, what, body) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`${what} did not settle within ${ms} ms`)), ms);
  });
  try { return await Promise.race([body(), t]); } finally { clearTimeout(timer); }
}

// A Bedrock runtime client on the mock whose requests carry the mock's x-tailgate-* headers
// (added before signing, as a gateway's own headers would be).
function client(headers, opts = {}) {
  const c = new brt.m.BedrockRuntimeClient({ region: REGION, endpoint: BASE, credentials: CREDENTIALS, ...opts });
  c.middlewareStack.add((next) => async (args) => {
    Object.assign(args.request.headers, headers);
    return next(args);
  }, { step: 'build', name: 'tailgateHeaders' });
  return c;
}

const converseInput = (id, maxTokens) => ({
  modelId: MODEL,
  messages: [{ role: 'user', content: [{ text: prompt(id) }] }],
  ...(maxTokens ? { inferenceConfig: { maxTokens } } : {}),
});

const cases = [];
const tc = (name, mods, fn) => cases.push({ name, mods, fn });

tc('bedrock_converse_stream_should_yield_every_event_and_report_billed_usage', [brt], async () => {
  const id = cid('converse-stream');
  const r = await client(SHORT).send(new brt.m.ConverseStreamCommand(converseInput(id)));
  const events = [];
  for await (const ev of r.stream) events.push(ev);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'bedrock', 8, 'ConverseStream');
  eq(rec.protocol, 'h2', 'ledger protocol (the SDK speaks HTTP/2)');
  const kinds = events.map((e) => Object.keys(e)[0]);
  eq(kinds.join(','), ['messageStart', ...Array(8).fill('contentBlockDelta'), 'contentBlockStop',
    'messageStop', 'metadata'].join(','), 'event kinds');
  eq(events[0].messageStart.role, 'assistant', 'messageStart.role');
  eq(events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.delta.text).join(''),
    text(8), 'joined deltas');
  eq(events[10].messageStop.stopReason, 'end_turn', 'stopReason');
  const u = events[11].metadata.usage;
  eq(u.outputTokens, rec.billed_output_tokens, 'metadata.usage.outputTokens vs ledger billed_output_tokens');
  eq(u.inputTokens, rec.billed_input_tokens, 'metadata.usage.inputTokens vs ledger billed_input_tokens');
  eq(u.totalTokens, rec.billed_input_tokens + rec.billed_output_tokens, 'metadata.usage.totalTokens');
  check(typeof events[11].metadata.metrics.latencyMs === 'number', 'metadata.metrics.latencyMs is a number');
  eq(rec.usage_reported, 8, 'ledger usage_reported');
});

tc('bedrock_converse_stream_should_stop_at_max_tokens', [brt], async () => {
  const id = cid('converse-cap');
  const r = await client(gen(50, 200)).send(new brt.m.ConverseStreamCommand(converseInput(id, 3)));
  const events = [];
  for await (const ev of r.stream) events.push(ev);
  const rec = await ledgerDone(id);
  eq(rec.stop_reason, 'max_tokens', 'ledger stop_reason');
  eq(events.find((e) => e.messageStop).messageStop.stopReason, 'max_tokens', 'stopReason');
  eq(events.find((e) => e.metadata).metadata.usage.outputTokens, rec.billed_output_tokens, 'outputTokens vs ledger');
  eq(rec.billed_output_tokens, 3, 'billed');
});

tc('bedrock_converse_stream_abort_should_show_as_a_peer_close', [brt], async () => {
  const id = cid('converse-abort');
  const ac = new AbortController();
  const r = await client(LONG).send(new brt.m.ConverseStreamCommand(converseInput(id)), { abortSignal: ac.signal });
  let got = 0;
  try {
    for await (const ev of r.stream) {
      if (ev.contentBlockDelta && ++got === 3) ac.abort();
    }
  } catch (e) {
    check(ac.signal.aborted, `the stream failed before the abort: ${errDesc(e)}`);
  }
  eq(got >= 3, true, 'deltas before the abort');
  const rec = await ledgerDone(id);
  // the AWS SDK's Bedrock runtime client speaks HTTP/2 (its default handler is NodeHttp2Handler,
  // in cleartext to an http:// endpoint), and an abort closes its session: a GOAWAY, not a FIN
  eq(rec.protocol, 'h2', 'ledger protocol');
  checkPeerClose(rec, 'bedrock', 'ConverseStream abort', ['goaway', 'rst_stream']);
});

tc('bedrock_converse_should_report_billed_usage', [brt], async () => {
  const id = cid('converse');
  const r = await client(SHORT).send(new brt.m.ConverseCommand(converseInput(id)));
  const rec = await ledgerDone(id);
  eq(rec.api, 'bedrock', 'api');
  eq(rec.stream, false, 'stream');
  eq(r.output.message.content[0].text, text(8), 'output text');
  eq(r.stopReason, 'end_turn', 'stopReason');
  eq(r.usage.outputTokens, rec.billed_output_tokens, 'usage.outputTokens vs ledger');
  eq(r.usage.inputTokens, rec.billed_input_tokens, 'usage.inputTokens vs ledger');
  eq(rec.sigv4, true, 'sigv4');
});

tc('bedrock_errors_should_be_the_sdk_exceptions', [brt], async () => {
  const id = cid('throttled');
  let err = null;
  try {
    await client({ 'x-tailgate-fault': 'status=429' }, { maxAttempts: 1 })
      .send(new brt.m.ConverseStreamCommand(converseInput(id)));
  } catch (e) { err = e; }
  check(err, 'a 429 did not throw');
  eq(err.name, 'ThrottlingException', `429 error name (${errDesc(err)})`);
  eq(err.$metadata?.httpStatusCode, 429, '429 status');
  check(/Too many requests/.test(err.message), `429 message: ${err.message}`);
  const rec = await ledgerDone(id);
  eq(rec.status, 429, 'ledger status');

  err = null;
  try {
    await client({}, { maxAttempts: 1 }).send(new brt.m.ConverseCommand({ modelId: MODEL, messages: [] }));
  } catch (e) { err = e; }
  check(err, 'an empty messages array did not throw');
  eq(err.name, 'ValidationException', `400 error name (${errDesc(err)})`);

  // an exception message after 3 tokens ends the SDK's iteration with the modelled exception
  const id2 = cid('in-stream');
  const r = await client({ ...SHORT, 'x-tailgate-fault': 'error-after=3' })
    .send(new brt.m.ConverseStreamCommand(converseInput(id2)));
  let deltas = 0;
  err = null;
  try {
    for await (const ev of r.stream) if (ev.contentBlockDelta) deltas++;
  } catch (e) { err = e; }
  eq(deltas, 3, 'deltas before the exception');
  check(err, 'the exception message did not throw');
  eq(err.name, 'InternalServerException', `in-stream error name (${errDesc(err)})`);
});

tc('bedrock_invoke_with_response_stream_should_carry_anthropic_events', [brt], async () => {
  const id = cid('invoke-stream');
  const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100,
    messages: [{ role: 'user', content: prompt(id) }] });
  const r = await client(SHORT).send(new brt.m.InvokeModelWithResponseStreamCommand(
    { modelId: MODEL, contentType: 'application/json', accept: 'application/json', body }));
  const events = [];
  for await (const ev of r.body) events.push(JSON.parse(new TextDecoder().decode(ev.chunk.bytes)));
  const rec = await ledgerDone(id);
  checkComplete(rec, 'bedrock-invoke', 8, 'InvokeModelWithResponseStream');
  eq(events.map((e) => e.type).join(','), ['message_start', 'content_block_start',
    ...Array(8).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop'].join(','),
  'event types');
  eq(events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join(''), text(8), 'text');
  const m = events.at(-1)['amazon-bedrock-invocationMetrics'];
  eq(m.outputTokenCount, rec.billed_output_tokens, 'invocationMetrics.outputTokenCount vs ledger');
  eq(m.inputTokenCount, rec.billed_input_tokens, 'invocationMetrics.inputTokenCount vs ledger');
  eq(events.at(-2).usage.output_tokens, rec.billed_output_tokens, 'message_delta usage vs ledger');
});

tc('ai_sdk_bedrock_stream_text_should_report_billed_usage', [ai, aiBedrock], async () => {
  const id = cid('ai-stream');
  const bedrock = aiBedrock.m.createAmazonBedrock({ region: REGION, baseURL: BASE, ...CREDENTIALS, headers: SHORT });
  const res = ai.m.streamText({ model: bedrock(MODEL), prompt: prompt(id), maxRetries: 0 });
  let t = '';
  for await (const d of res.textStream) t += d;
  const usage = await res.usage;
  const rec = await ledgerDone(id);
  checkComplete(rec, 'bedrock', 8, 'AI SDK bedrock');
  eq(t, text(8), 'text');
  eq(await res.finishReason, 'stop', 'finishReason');
  eq(usage.outputTokens, rec.billed_output_tokens, 'usage.outputTokens vs ledger');
  eq(usage.inputTokens, rec.billed_input_tokens, 'usage.inputTokens vs ledger');
});

tc('ai_sdk_bedrock_abort_should_show_as_a_peer_close', [ai, aiBedrock], async () => {
  const id = cid('ai-abort');
  const ac = new AbortController();
  const bedrock = aiBedrock.m.createAmazonBedrock({ region: REGION, baseURL: BASE, ...CREDENTIALS, headers: LONG });
  const res = ai.m.streamText({ model: bedrock(MODEL), prompt: prompt(id), abortSignal: ac.signal, maxRetries: 0 });
  let got = 0;
  try {
    for await (const d of res.textStream) { got += (d.match(/tok\d+/g) || []).length; if (got >= 3) ac.abort(); }
  } catch (e) {
    check(ac.signal.aborted, `the stream failed before the abort: ${errDesc(e)}`);
  }
  check(got >= 3, `tokens before the abort: ${got}`);
  const rec = await ledgerDone(id);
  // the provider's fetch speaks HTTP/1.1: its abort is the connection's close
  eq(rec.protocol, 'http/1.1', 'ledger protocol');
  checkPeerClose(rec, 'bedrock', 'AI SDK bedrock abort');
});

async function main() {
  const only = process.env.SDK_TEST_ONLY ? new RegExp(process.env.SDK_TEST_ONLY) : null;
  const selected = only ? cases.filter((c) => only.test(c.name)) : cases;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const runnable = [];
  for (const c of selected) {
    const missing = c.mods.find((m) => !m.m);
    if (missing) { skipped++; console.log(`SKIP ${c.name} ${missing.why}`); } else runnable.push(c);
  }
  if (runnable.length) {
    try {
      BASE = await startMock(TAILGATE_BIN, 'bedrock', START_TIMEOUT_MS);
    } catch (e) {
      console.log(`FAIL bedrock_mock_should_start ${String(e.message).replace(/\s+/g, ' ')}`);
      for (const c of runnable) console.log(`FAIL ${c.name} mock not started`);
      console.log(`bedrock: 0 passed, ${runnable.length + 1} failed, ${skipped} skipped`);
      return 1;
    }
  }
  for (const c of runnable) {
    let reason = null;
    try {
      await within(CASE_TIMEOUT_MS, 'case', c.fn);
    } catch (e) {
      reason = e instanceof CheckError ? e.message : errDesc(e);
    }
    if (reason === null) { passed++; console.log(`PASS ${c.name}`); }
    else { failed++; console.log(`FAIL ${c.name} ${reason.replace(/\s+/g, ' ')}`); }
  }
  console.log(`bedrock: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopMock();
}
process.exit(code);
