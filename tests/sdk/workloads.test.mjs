// Real-client workloads: Google's @google/genai and the Vercel AI SDK (ai with @ai-sdk/openai,
// @ai-sdk/anthropic and @ai-sdk/google) against `tailgate mock`, each checked against the ledger:
// the text holds the mock's tokens, the usage the SDK reports is what the ledger bills, and an
// AbortController abort shows as the peer's close.
//
// Usage: node workloads.test.mjs      (TAILGATE_BIN overrides the binary, default ../../tailgate)
// Output: one line per case, `PASS <case>`, `FAIL <case> <reason>` or `SKIP <case> <reason>`, then
// `workloads: N passed, N failed, N skipped`. Exit code 1 when any case failed. A case whose SDK
// is not installed is a SKIP naming the package.
//
// Only loopback traffic; every wait is bounded; the mock child is killed on every exit path.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, check, eq, sleep, startMock, stopMock } from './mockproc.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 15_000;
const LEDGER_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;

const OPENAI_MODEL = 'gpt-4o-mini';
const ANTHROPIC_MODEL = 'claude-sonnet-5-5';
const OPENAI_REASONING_MODEL = 'o3';
const GEMINI_MODEL = 'gemini-2.5-flash';

const gen = (n, tps) => ({ 'x-tailgate-length': String(n), 'x-tailgate-tps': String(tps),
  'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' });
const SHORT = gen(8, 200); // 8 tokens in about 60 ms
const LONG = gen(1000, 50); // 20 s unless someone stops it
const text = (n, from = 0) => Array.from({ length: n }, (_, i) => ` tok${from + i}`).join('');
const countTokens = (s) => (s.match(/tok\d+/g) || []).length;
const think = (n) => Array.from({ length: n }, (_, i) => ` think${i}`).join('');
// A reasoning model (docs/mockprov.md, "Reasoning and tool calls"): `r` reasoning tokens before
// the `n` visible ones; `tool` turns the visible tokens after the first `toolText` into one tool
// call's arguments, {"query":" tok<toolText> ..."}; `shown` puts chat's reasoning in
// delta.reasoning_content (DeepSeek's field) instead of hiding it.
const reasoning = (r, n, { tps = 200, tool = false, toolText = 0, shown = false } = {}) => ({
  ...gen(n, tps), 'x-tailgate-reasoning-tokens': String(r),
  ...(tool ? { 'x-tailgate-tool-call': '1', 'x-tailgate-tool-text': String(toolText) } : {}),
  ...(shown ? { 'x-tailgate-reasoning-content': '1' } : {}) });
const TOOL_NAME = 'tailgate_lookup';
const toolArgs = (n, from) => ({ query: text(n, from) });

// ---------------------------------------------------------------------------------------------
// modules: a missing one makes its cases SKIP with the reason

async function load(name) {
  try {
    return { m: await import(name), why: null };
  } catch (e) {
    return { m: null, why: `${name} not installed in tests/sdk/node_modules (${e.code || e.message})` };
  }
}
const genai = await load('@google/genai');
const ai = await load('ai');
const aiOpenai = await load('@ai-sdk/openai');
const aiAnthropic = await load('@ai-sdk/anthropic');
const aiGoogle = await load('@ai-sdk/google');
const openai = await load('openai');
const anthropic = await load('@anthropic-ai/sdk');
const zod = await load('zod');


function errDesc(e) {
  if (!e) return String(e);
  const st = e.status !== undefined ? ` status=${e.status}` : '';
  return `${e.constructor?.name || 'Error'}${st}: ${String(e.message).slice(0, 300)}`;
}

let BASE = null;
const runTag = `${process.pid}-${Date.now().toString(36)}`;
const cid = (name) => `wl-${runTag}-${name}`;

function summarize(rec) {
  const keys = ['api', 'stream', 'state', 'status', 'stop_reason', 'close_kind', 't_peer_closed_ns',
    'generated_tokens', 'written_tokens', 'billed_input_tokens', 'billed_output_tokens', 'usage_reported'];
  return rec ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, rec[k]]))) : 'none';
}

async function ledgerRecords(id) {
  const p = `/_tailgate/ledger?correlation_id=${encodeURIComponent(id)}`;
  const r = await fetch(`${BASE}${p}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const body = await r.text();
  check(r.status === 200, `GET ${p} -> ${r.status} ${body.slice(0, 200)}`);
  const j = JSON.parse(body);
  check(Array.isArray(j.records), `ledger answer has no records array: ${body.slice(0, 200)}`);
  return j.records;
}

// The one ledger record of `id` once it is done, polled until a deadline.
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

// A generation run to its natural end: n tokens generated and billed, and written when streamed
// (a JSON body's tokens are not counted as written, docs/mockprov.md).
function checkComplete(rec, api, n, label) {
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  eq(rec.status, 200, `${s} status`);
  eq(rec.stop_reason, 'natural', `${s} stop_reason`);
  eq(rec.close_kind, null, `${s} close_kind`);
  eq(rec.generated_tokens, n, `${s} generated_tokens`);
  eq(rec.written_tokens, rec.stream ? n : 0, `${s} written_tokens`);
  eq(rec.billed_output_tokens, n, `${s} billed_output_tokens`);
}

// A stream the client abandoned after reading at least 3 tokens: the mock saw the peer close.
function checkPeerClose(rec, api, label) {
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  check(rec.close_kind === 'fin' || rec.close_kind === 'rst', `${s}: close_kind is not fin or rst`);
  check(rec.t_peer_closed_ns !== null, `${s}: t_peer_closed_ns is null`);
  eq(rec.stop_reason, 'disconnect', `${s} stop_reason`);
  check(rec.written_tokens >= 3, `${s}: written_tokens < 3`);
  check(rec.generated_tokens < 1000, `${s}: generation was not stopped`);
}

// Runs `body` and fails if it has not settled by `ms`.
async function within(ms, what, body) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`${what} did not settle within ${ms} ms`)), ms);
  });
  try { return await Promise.race([body(), t]); } finally { clearTimeout(timer); }
}

// ---------------------------------------------------------------------------------------------
// clients

function genaiClient(id, headers) {
  // httpOptions.baseUrl replaces https://generativelanguage.googleapis.com; the SDK adds /v1beta.
  return new genai.m.GoogleGenAI({ apiKey: 'tailgate-dummy-key',
    httpOptions: { baseUrl: BASE, headers: { ...headers, 'X-Request-Id': id } } });
}

// The AI SDK's providers, each pointed at the mock; `api` is the ledger's name of the route used.
// `model(id)` takes another model id (OpenAI's reasoning options need a reasoning model's id).
const AI_PROVIDERS = [
  { name: 'openai_chat', api: 'chat', mods: [aiOpenai],
    model: (id = OPENAI_MODEL) => aiOpenai.m.createOpenAI({ apiKey: 'sk-tailgate-test', baseURL: `${BASE}/v1` }).chat(id) },
  { name: 'openai_responses', api: 'responses', mods: [aiOpenai],
    model: (id = OPENAI_MODEL) => aiOpenai.m.createOpenAI({ apiKey: 'sk-tailgate-test', baseURL: `${BASE}/v1` }).responses(id) },
  { name: 'anthropic', api: 'messages', mods: [aiAnthropic],
    model: () => aiAnthropic.m.createAnthropic({ apiKey: 'sk-ant-tailgate-test', baseURL: `${BASE}/v1` })(ANTHROPIC_MODEL) },
  { name: 'google', api: 'gemini', mods: [aiGoogle],
    model: () => aiGoogle.m.createGoogleGenerativeAI({ apiKey: 'tailgate-dummy-key', baseURL: `${BASE}/v1beta` })(GEMINI_MODEL) },
];

// The AI SDK's usage against the ledger's bill (input as well as output).
function checkAiUsage(usage, rec, n, label) {
  check(usage, `${label}: usage is ${JSON.stringify(usage)}`);
  eq(usage.outputTokens, n, `${label} usage.outputTokens`);
  eq(usage.outputTokens, rec.billed_output_tokens, `${label} usage.outputTokens vs ledger billed_output_tokens`);
  eq(usage.inputTokens, rec.billed_input_tokens, `${label} usage.inputTokens vs ledger billed_input_tokens`);
  eq(usage.totalTokens, rec.billed_input_tokens + rec.billed_output_tokens, `${label} usage.totalTokens`);
}

// ---------------------------------------------------------------------------------------------
// cases

const cases = [];
const tc = (name, mods, fn) => cases.push({ name, mods, fn });

tc('genai_stream_should_parse_every_chunk_and_report_billed_usage', [genai], async () => {
  const id = cid('genai-stream');
  const stream = await genaiClient(id, SHORT).models.generateContentStream(
    { model: GEMINI_MODEL, contents: 'hello' });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'gemini', 8, 'genai stream');
  // one chunk per token, then the last one: an empty text part, finishReason and the final counts
  eq(chunks.length, 9, 'chunks the SDK yielded');
  for (let i = 0; i < 8; i++) {
    eq(chunks[i].text, ` tok${i}`, `chunk ${i} text`);
    eq(chunks[i].usageMetadata?.candidatesTokenCount, i + 1, `chunk ${i} running candidatesTokenCount`);
  }
  eq(chunks.map((c) => c.text ?? '').join(''), text(8), 'joined text');
  const last = chunks[8];
  eq(last.candidates?.[0]?.finishReason, 'STOP', 'last chunk finishReason');
  const u = last.usageMetadata;
  eq(u?.candidatesTokenCount, rec.billed_output_tokens, 'usageMetadata.candidatesTokenCount vs ledger billed_output_tokens');
  eq(u.promptTokenCount, rec.billed_input_tokens, 'usageMetadata.promptTokenCount vs ledger billed_input_tokens');
  eq(u.totalTokenCount, rec.billed_input_tokens + rec.billed_output_tokens, 'usageMetadata.totalTokenCount');
  eq(rec.usage_reported, 8, 'ledger usage_reported');
});

tc('genai_generate_content_should_report_billed_usage', [genai], async () => {
  const id = cid('genai-generate');
  const r = await genaiClient(id, SHORT).models.generateContent({ model: GEMINI_MODEL, contents: 'hello' });
  const rec = await ledgerDone(id);
  checkComplete(rec, 'gemini', 8, 'genai generateContent');
  eq(rec.stream, false, 'ledger stream');
  eq(r.text, text(8), 'text');
  eq(r.candidates?.[0]?.finishReason, 'STOP', 'finishReason');
  eq(r.usageMetadata?.candidatesTokenCount, rec.billed_output_tokens, 'usageMetadata.candidatesTokenCount vs ledger billed_output_tokens');
  eq(r.usageMetadata.promptTokenCount, rec.billed_input_tokens, 'usageMetadata.promptTokenCount vs ledger billed_input_tokens');
});

tc('genai_stream_max_output_tokens_should_end_with_max_tokens', [genai], async () => {
  const id = cid('genai-cap');
  const stream = await genaiClient(id, SHORT).models.generateContentStream(
    { model: GEMINI_MODEL, contents: 'hello', config: { maxOutputTokens: 5 } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const rec = await ledgerDone(id);
  eq(rec.stop_reason, 'max_tokens', `ledger stop_reason (${summarize(rec)})`);
  eq(rec.max_tokens, 5, 'ledger max_tokens');
  eq(chunks.map((c) => c.text ?? '').join(''), text(5), 'joined text');
  eq(chunks[chunks.length - 1].candidates?.[0]?.finishReason, 'MAX_TOKENS', 'last chunk finishReason');
  eq(chunks[chunks.length - 1].usageMetadata?.candidatesTokenCount, rec.billed_output_tokens, 'candidatesTokenCount vs ledger billed_output_tokens');
  eq(rec.billed_output_tokens, 5, 'ledger billed_output_tokens');
});

tc('genai_stream_abort_should_show_peer_close', [genai], async () => {
  const id = cid('genai-abort');
  const ac = new AbortController();
  const stream = await genaiClient(id, LONG).models.generateContentStream(
    { model: GEMINI_MODEL, contents: 'hello', config: { abortSignal: ac.signal } });
  let seen = '';
  let err = null;
  try {
    for await (const c of stream) {
      seen += c.text ?? '';
      if (countTokens(seen) >= 3) ac.abort();
    }
  } catch (e) { err = e; }
  check(countTokens(seen) >= 3, `stream ended after ${countTokens(seen)} tokens, before the abort: ${errDesc(err)}`);
  check(err && err.name === 'AbortError', `iteration after abort: expected an AbortError, got ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'gemini', 'genai abort');
});

const FAULT_429 = 'status=429,retry-after=0,should-retry=false';

// the ledger of a request answered with a fault: one attempt (no SDK retry)
async function checkFaultLedger(id, status, stopReason, label) {
  const rec = await ledgerDone(id);
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.status, status, `${s} status`);
  eq(rec.stop_reason, stopReason, `${s} stop_reason`);
  eq(rec.attempt, 1, `${s} attempt`);
  return rec;
}

tc('genai_429_should_be_api_error_in_googles_shape', [genai], async () => {
  const id = cid('genai-429');
  const err = await genaiClient(id, { ...SHORT, 'x-tailgate-fault': FAULT_429 }).models
    .generateContentStream({ model: GEMINI_MODEL, contents: 'hello' }).then(() => null, (e) => e);
  check(err instanceof genai.m.ApiError, `expected ApiError, got ${errDesc(err)}`);
  eq(err.status, 429, 'ApiError status');
  const body = JSON.parse(err.message);
  eq(body.error?.code, 429, 'error.code');
  eq(body.error?.status, 'RESOURCE_EXHAUSTED', 'error.status');
  await checkFaultLedger(id, 429, 'http_error', 'genai 429');
});

tc('genai_error_after_should_throw_mid_stream', [genai], async () => {
  const id = cid('genai-error-after');
  const stream = await genaiClient(id, { ...SHORT, 'x-tailgate-fault': 'error-after=3' }).models
    .generateContentStream({ model: GEMINI_MODEL, contents: 'hello' });
  let seen = '';
  let err = null;
  try { for await (const c of stream) seen += c.text ?? ''; } catch (e) { err = e; }
  eq(seen, text(3), 'text before the error');
  check(err instanceof genai.m.ApiError, `expected ApiError, got ${errDesc(err)}`);
  eq(err.status, 500, 'ApiError status');
  check(/"status":"INTERNAL"/.test(err.message), `ApiError message lacks status INTERNAL: ${err.message.slice(0, 200)}`);
  const rec = await checkFaultLedger(id, 200, 'error_fault', 'genai error-after');
  eq(rec.written_tokens, 3, 'ledger written_tokens');
});

for (const p of AI_PROVIDERS) {
  tc(`ai_stream_text_${p.name}_429_should_be_an_api_call_error`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-429`);
    const r = ai.m.streamText({ model: p.model(), prompt: 'hello', maxRetries: 0,
      headers: { ...SHORT, 'x-tailgate-fault': FAULT_429, 'X-Request-Id': id }, onError: () => {} });
    const errors = [];
    let deltas = 0;
    for await (const part of r.fullStream) {
      if (part.type === 'error') errors.push(part.error);
      if (part.type === 'text-delta') deltas++;
    }
    eq(deltas, 0, 'text deltas');
    eq(errors.length, 1, 'error parts');
    check(ai.m.APICallError.isInstance(errors[0]), `error part: expected APICallError, got ${errDesc(errors[0])}`);
    eq(errors[0].statusCode, 429, 'APICallError statusCode');
    await checkFaultLedger(id, 429, 'http_error', p.name);
  });

  tc(`ai_stream_text_${p.name}_error_after_should_end_with_an_error_part`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-error-after`);
    const r = ai.m.streamText({ model: p.model(), prompt: 'hello', maxRetries: 0,
      headers: { ...SHORT, 'x-tailgate-fault': 'error-after=3', 'X-Request-Id': id }, onError: () => {} });
    const errors = [];
    let seen = '';
    for await (const part of r.fullStream) {
      if (part.type === 'error') errors.push(part.error);
      if (part.type === 'text-delta') seen += part.text;
    }
    eq(seen, text(3), 'text before the error');
    eq(errors.length, 1, 'error parts');
    eq(await r.finishReason, 'error', 'finishReason');
    const rec = await checkFaultLedger(id, 200, 'error_fault', p.name);
    eq(rec.written_tokens, 3, 'ledger written_tokens');
  });

  tc(`ai_stream_text_${p.name}_should_report_billed_usage`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}`);
    let errors = [];
    const r = ai.m.streamText({ model: p.model(), prompt: 'hello', maxRetries: 0,
      headers: { ...SHORT, 'X-Request-Id': id }, onError: ({ error }) => errors.push(error) });
    const deltas = [];
    for await (const d of r.textStream) deltas.push(d);
    check(errors.length === 0, `streamText onError: ${errors.map(errDesc).join('; ')}`);
    const usage = await r.usage;
    const rec = await ledgerDone(id);
    checkComplete(rec, p.api, 8, p.name);
    eq(deltas.join(''), text(8), 'text');
    eq(deltas.length, 8, 'text deltas (one per token)');
    eq(await r.finishReason, 'stop', 'finishReason');
    checkAiUsage(usage, rec, 8, p.name);
  });

  tc(`ai_generate_text_${p.name}_should_report_billed_usage`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-generate`);
    const r = await ai.m.generateText({ model: p.model(), prompt: 'hello', maxRetries: 0,
      headers: { ...SHORT, 'X-Request-Id': id } });
    const rec = await ledgerDone(id);
    checkComplete(rec, p.api, 8, p.name);
    eq(rec.stream, false, 'ledger stream');
    eq(r.text, text(8), 'text');
    eq(r.finishReason, 'stop', 'finishReason');
    checkAiUsage(r.usage, rec, 8, p.name);
  });

  tc(`ai_stream_text_${p.name}_abort_should_show_peer_close`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-abort`);
    const ac = new AbortController();
    let aborted = 0;
    const r = ai.m.streamText({ model: p.model(), prompt: 'hello', maxRetries: 0, abortSignal: ac.signal,
      headers: { ...LONG, 'X-Request-Id': id }, onAbort: () => { aborted++; } });
    let seen = '';
    let err = null;
    try {
      for await (const d of r.textStream) {
        seen += d;
        if (countTokens(seen) >= 3) ac.abort();
      }
    } catch (e) { err = e; }
    check(countTokens(seen) >= 3, `textStream ended after ${countTokens(seen)} tokens, before the abort: ${errDesc(err)}`);
    check(err === null || err.name === 'AbortError', `textStream after abort: ${errDesc(err)}`);
    eq(aborted, 1, 'onAbort calls');
    checkPeerClose(await ledgerDone(id), p.api, p.name);
  });
}

// ---------------------------------------------------------------------------------------------
// reasoning and tool calls (docs/mockprov.md, "Reasoning and tool calls"): genai and the AI SDK
// parse them and report the usage the ledger billed (billed_output_tokens counts reasoning and
// visible tokens, billed_reasoning_tokens the reasoning); every SDK's abort while the model thinks
// or mid tool-call arguments is a peer close. sdk.test.mjs has the openai and @anthropic-ai/sdk
// stream helpers assembling completed reasoning and tool-call streams.

const R = 3; // reasoning tokens
const N = 4; // visible tokens: with a tool call, TOOL_TEXT of text then the arguments' tokens
const TOOL_TEXT = 1;
const LONG_THINK = { ...reasoning(1000, 8, { tps: 50 }) }; // 20 s of thinking unless stopped

// the ledger of a reasoning stream read to its end: R reasoning and N visible tokens billed
function checkReasoningBilled(rec, api, label) {
  const s = `${label} ledger (${summarize(rec)}, reasoning ${rec.reasoning_tokens}, billed ${rec.billed_reasoning_tokens})`;
  eq(rec.api, api, `${s} api`);
  eq(rec.stop_reason, 'natural', `${s} stop_reason`);
  eq(rec.reasoning_tokens, R, `${s} reasoning_tokens`);
  eq(rec.billed_reasoning_tokens, R, `${s} billed_reasoning_tokens`);
  eq(rec.generated_tokens, N, `${s} generated_tokens`);
  eq(rec.billed_output_tokens, R + N, `${s} billed_output_tokens`);
}

// a stream abandoned while the model was thinking: no visible token written, the close seen
// after at least 3 reasoning tokens, the thinking stopped, and under the default profile
// (vendor-b-post, reasoning_bill before_cancel) the reasoning done before the close billed
function checkCloseWhileThinking(rec, api, label) {
  const s = `${label} ledger (${summarize(rec)}, reasoning ${rec.reasoning_tokens}, at close ` +
    `${rec.reasoning_at_close}, billed ${rec.billed_reasoning_tokens})`;
  eq(rec.api, api, `${s} api`);
  eq(rec.profile, 'vendor-b-post', `${s} profile`);
  check(rec.close_kind === 'fin' || rec.close_kind === 'rst', `${s}: close_kind is not fin or rst`);
  check(rec.t_peer_closed_ns !== null, `${s}: t_peer_closed_ns is null`);
  eq(rec.stop_reason, 'disconnect', `${s} stop_reason`);
  eq(rec.written_tokens, 0, `${s} written_tokens`);
  eq(rec.generated_tokens, 0, `${s} generated_tokens`);
  check(rec.reasoning_at_close >= 3, `${s}: reasoning_at_close < 3`);
  check(rec.reasoning_tokens < 1000, `${s}: thinking was not stopped`);
  eq(rec.billed_reasoning_tokens, rec.reasoning_at_close, `${s} billed_reasoning_tokens vs reasoning_at_close`);
  eq(rec.billed_output_tokens, rec.billed_reasoning_tokens, `${s} billed_output_tokens vs billed_reasoning_tokens`);
}

function openaiClient() {
  return new openai.m.default({ apiKey: 'sk-tailgate-test', baseURL: `${BASE}/v1`, maxRetries: 0, timeout: CASE_TIMEOUT_MS });
}
function anthropicClient() {
  return new anthropic.m.default({ apiKey: 'sk-ant-tailgate-test', baseURL: BASE, maxRetries: 0, timeout: CASE_TIMEOUT_MS });
}
const OPENAI_TOOLS = [{ type: 'function', function: { name: TOOL_NAME, description: 'looks a query up',
  parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } } }];
const ANTHROPIC_TOOLS = [{ name: TOOL_NAME, description: 'looks a query up',
  input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }];

tc('sdk_openai_chat_abort_mid_tool_arguments_should_show_peer_close', [openai], async () => {
  const id = cid('chat-tool-abort');
  const ac = new AbortController();
  const stream = openaiClient().chat.completions.stream(
    { model: OPENAI_REASONING_MODEL, messages: [{ role: 'user', content: 'hello' }], tools: OPENAI_TOOLS },
    { headers: { ...reasoning(0, 1000, { tps: 50, tool: true, toolText: TOOL_TEXT }), 'X-Request-Id': id }, signal: ac.signal });
  let args = '';
  stream.on('tool_calls.function.arguments.delta', (e) => {
    args = e.arguments;
    if (countTokens(args) >= 3) ac.abort();
  });
  const err = await stream.finalChatCompletion().then(() => null, (e) => e);
  check(countTokens(args) >= 3, `arguments ended after ${countTokens(args)} tokens, before the abort: ${errDesc(err)}`);
  check(err instanceof openai.m.APIUserAbortError, `finalChatCompletion after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  const rec = await ledgerDone(id);
  checkPeerClose(rec, 'chat', 'chat tool call');
  check(rec.written_tokens >= TOOL_TEXT + 3, `written_tokens ${rec.written_tokens} < ${TOOL_TEXT + 3}`);
});

tc('sdk_openai_responses_abort_while_thinking_should_show_peer_close', [openai], async () => {
  const id = cid('resp-think-abort');
  const ac = new AbortController();
  const stream = openaiClient().responses.stream(
    { model: OPENAI_REASONING_MODEL, input: 'hello', reasoning: { effort: 'medium', summary: 'detailed' } },
    { headers: { ...LONG_THINK, 'X-Request-Id': id }, signal: ac.signal });
  let summary = '';
  stream.on('response.reasoning_summary_text.delta', (e) => {
    summary += e.delta;
    if (summary.startsWith(think(3))) ac.abort();
  });
  const err = await stream.finalResponse().then(() => null, (e) => e);
  check(summary.startsWith(think(3)), `summary ${JSON.stringify(summary)} before the abort: ${errDesc(err)}`);
  check(err instanceof openai.m.APIUserAbortError, `finalResponse after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  checkCloseWhileThinking(await ledgerDone(id), 'responses', 'responses');
});

tc('sdk_anthropic_abort_while_thinking_should_show_peer_close', [anthropic], async () => {
  const id = cid('msg-think-abort');
  const ac = new AbortController();
  const stream = anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 4096, thinking: { type: 'adaptive' },
      messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...LONG_THINK, 'X-Request-Id': id }, signal: ac.signal });
  let thinking = '';
  stream.on('thinking', (d, snap) => { thinking = snap; if (snap.startsWith(think(3))) ac.abort(); });
  const err = await stream.finalMessage().then(() => null, (e) => e);
  check(thinking.startsWith(think(3)), `thinking ${JSON.stringify(thinking)} before the abort: ${errDesc(err)}`);
  check(err instanceof anthropic.m.APIUserAbortError, `finalMessage after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  checkCloseWhileThinking(await ledgerDone(id), 'messages', 'messages');
});

tc('sdk_anthropic_abort_mid_tool_input_should_show_peer_close', [anthropic], async () => {
  const id = cid('msg-tool-abort');
  const ac = new AbortController();
  const stream = anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 4096, tools: ANTHROPIC_TOOLS, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...reasoning(0, 1000, { tps: 50, tool: true, toolText: TOOL_TEXT }), 'X-Request-Id': id }, signal: ac.signal });
  let json = '';
  stream.on('inputJson', (d) => { json += d; if (countTokens(json) >= 3) ac.abort(); });
  const err = await stream.finalMessage().then(() => null, (e) => e);
  check(countTokens(json) >= 3, `input json ended after ${countTokens(json)} tokens, before the abort: ${errDesc(err)}`);
  check(err instanceof anthropic.m.APIUserAbortError, `finalMessage after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  const rec = await ledgerDone(id);
  checkPeerClose(rec, 'messages', 'messages tool_use');
  check(rec.written_tokens >= TOOL_TEXT + 3, `written_tokens ${rec.written_tokens} < ${TOOL_TEXT + 3}`);
});

tc('genai_thinking_should_report_thoughts_token_count', [genai], async () => {
  const id = cid('genai-thinking');
  const stream = await genaiClient(id, reasoning(R, N)).models.generateContentStream(
    { model: GEMINI_MODEL, contents: 'hello', config: { thinkingConfig: { includeThoughts: true } } });
  let thoughts = '';
  let visible = '';
  let last = null;
  for await (const c of stream) {
    for (const p of c.candidates?.[0]?.content?.parts ?? []) if (p.thought) thoughts += p.text ?? '';
    visible += c.text ?? ''; // the SDK's text leaves thought parts out
    last = c;
  }
  const rec = await ledgerDone(id);
  checkReasoningBilled(rec, 'gemini', 'gemini');
  eq(thoughts, think(R), 'thought parts joined');
  eq(visible, text(N), 'text');
  const u = last?.usageMetadata;
  eq(u?.thoughtsTokenCount, rec.billed_reasoning_tokens, 'usageMetadata.thoughtsTokenCount vs ledger billed_reasoning_tokens');
  eq(u.candidatesTokenCount + u.thoughtsTokenCount, rec.billed_output_tokens,
    'usageMetadata candidatesTokenCount + thoughtsTokenCount vs ledger billed_output_tokens');
  eq(u.promptTokenCount, rec.billed_input_tokens, 'usageMetadata.promptTokenCount vs ledger billed_input_tokens');
});

tc('genai_generate_content_thinking_should_report_thoughts_token_count', [genai], async () => {
  const id = cid('genai-generate-thinking');
  const r = await genaiClient(id, reasoning(R, N)).models.generateContent(
    { model: GEMINI_MODEL, contents: 'hello', config: { thinkingConfig: { includeThoughts: true } } });
  const rec = await ledgerDone(id);
  checkReasoningBilled(rec, 'gemini', 'gemini');
  const parts = r.candidates?.[0]?.content?.parts ?? [];
  eq(parts.filter((p) => p.thought).map((p) => p.text).join(''), think(R), 'thought parts');
  eq(r.text, text(N), 'text');
  eq(r.usageMetadata?.thoughtsTokenCount, rec.billed_reasoning_tokens, 'usageMetadata.thoughtsTokenCount vs ledger billed_reasoning_tokens');
  eq(r.usageMetadata.candidatesTokenCount + r.usageMetadata.thoughtsTokenCount, rec.billed_output_tokens,
    'usageMetadata candidatesTokenCount + thoughtsTokenCount vs ledger billed_output_tokens');
});

tc('genai_abort_while_thinking_should_show_peer_close', [genai], async () => {
  const id = cid('genai-think-abort');
  const ac = new AbortController();
  const stream = await genaiClient(id, LONG_THINK).models.generateContentStream(
    { model: GEMINI_MODEL, contents: 'hello', config: { abortSignal: ac.signal, thinkingConfig: { includeThoughts: true } } });
  let thoughts = '';
  let err = null;
  try {
    for await (const c of stream) {
      for (const p of c.candidates?.[0]?.content?.parts ?? []) if (p.thought) thoughts += p.text ?? '';
      if (thoughts.startsWith(think(3))) ac.abort();
    }
  } catch (e) { err = e; }
  check(thoughts.startsWith(think(3)), `thoughts ${JSON.stringify(thoughts)} before the abort: ${errDesc(err)}`);
  check(err && err.name === 'AbortError', `iteration after abort: expected an AbortError, got ${errDesc(err)}`);
  checkCloseWhileThinking(await ledgerDone(id), 'gemini', 'gemini');
});

// Gemini's tool call: the functionCall part comes whole in one chunk after the text, its args
// holding the argument tokens; the usage equals the ledger's bill, every token written.
tc('genai_stream_function_call_should_come_whole_with_billed_usage', [genai], async () => {
  const id = cid('genai-tool');
  const stream = await genaiClient(id, reasoning(0, N, { tool: true, toolText: TOOL_TEXT })).models
    .generateContentStream({ model: GEMINI_MODEL, contents: 'hello' });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'gemini', N, 'genai tool stream');
  eq(rec.tool_call, true, 'ledger tool_call');
  const calls = chunks.flatMap((c) => c.functionCalls ?? []);
  eq(calls.length, 1, 'functionCalls across the chunks');
  eq(calls[0].name, TOOL_NAME, 'functionCall name');
  eq(JSON.stringify(calls[0].args), JSON.stringify(toolArgs(N - TOOL_TEXT, TOOL_TEXT)), 'functionCall args');
  eq(chunks.map((c) => c.candidates?.[0]?.content?.parts?.[0]?.text ?? '').join(''), text(TOOL_TEXT), 'text before the call');
  const last = chunks[chunks.length - 1];
  eq(last.candidates?.[0]?.finishReason, 'STOP', 'last chunk finishReason');
  eq(last.usageMetadata?.candidatesTokenCount, rec.billed_output_tokens, 'usageMetadata.candidatesTokenCount vs ledger billed_output_tokens');
  eq(last.usageMetadata.totalTokenCount, rec.billed_input_tokens + rec.billed_output_tokens, 'usageMetadata.totalTokenCount');
});

tc('genai_generate_content_function_call_should_report_billed_usage', [genai], async () => {
  const id = cid('genai-tool-generate');
  const r = await genaiClient(id, reasoning(0, N, { tool: true, toolText: TOOL_TEXT })).models
    .generateContent({ model: GEMINI_MODEL, contents: 'hello' });
  const rec = await ledgerDone(id);
  checkComplete(rec, 'gemini', N, 'genai tool generateContent');
  eq(r.functionCalls?.length, 1, 'functionCalls');
  eq(r.functionCalls[0].name, TOOL_NAME, 'functionCall name');
  eq(JSON.stringify(r.functionCalls[0].args), JSON.stringify(toolArgs(N - TOOL_TEXT, TOOL_TEXT)), 'functionCall args');
  eq(r.usageMetadata?.candidatesTokenCount, rec.billed_output_tokens, 'usageMetadata.candidatesTokenCount vs ledger billed_output_tokens');
});

// The AI SDK's reasoning and tool-call parts through each provider. Chat hides its reasoning
// (OpenAI's own field is the count; @ai-sdk/openai does not read DeepSeek's reasoning_content);
// Anthropic's usage has no reasoning count (thinking is in output_tokens); Gemini sends a
// functionCall part whole, so the AI SDK gives its input as one delta (`whole`).
const AI_REASONING = [
  { p: AI_PROVIDERS[0], model: OPENAI_REASONING_MODEL, shows: false, counts: true, tools: true },
  { p: AI_PROVIDERS[1], model: OPENAI_REASONING_MODEL, shows: true, counts: true, tools: true },
  { p: AI_PROVIDERS[2], model: undefined, shows: true, counts: false, tools: true },
  { p: AI_PROVIDERS[3], model: undefined, shows: true, counts: true, tools: true, whole: true },
];
const aiProviderOptions = {
  openai: { reasoningSummary: 'detailed' },
  anthropic: { thinking: { type: 'adaptive' } },
  google: { thinkingConfig: { includeThoughts: true } },
};
const aiTools = () => ({ [TOOL_NAME]: ai.m.tool({ description: 'looks a query up',
  inputSchema: zod.m.z.object({ query: zod.m.z.string() }) }) });

for (const { p, model, shows, counts, tools, whole } of AI_REASONING) {
  const what = tools ? 'reasoning_and_tool_call' : 'reasoning';
  tc(`ai_stream_text_${p.name}_${what}_should_report_billed_usage`, [ai, zod, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-reasoning`);
    const r = ai.m.streamText({ model: p.model(model), prompt: 'hello', maxRetries: 0, tools: aiTools(),
      providerOptions: aiProviderOptions, headers: { ...reasoning(R, N, { tool: tools, toolText: TOOL_TEXT }), 'X-Request-Id': id } });
    let reasoningText = '';
    let visible = '';
    let inputDeltas = 0;
    const calls = [];
    const errors = [];
    for await (const part of r.fullStream) {
      if (part.type === 'reasoning-delta') reasoningText += part.text;
      else if (part.type === 'text-delta') visible += part.text;
      else if (part.type === 'tool-input-delta' && /tok\d+/.test(part.delta)) inputDeltas++;
      else if (part.type === 'tool-call') calls.push(part);
      else if (part.type === 'error' || part.type === 'tool-error') errors.push(part.error);
    }
    check(errors.length === 0, `error parts: ${errors.map(errDesc).join('; ')}`);
    const usage = await r.usage;
    const rec = await ledgerDone(id);
    checkReasoningBilled(rec, p.api, p.name);
    eq(reasoningText, shows ? think(R) : '', 'reasoning parts joined');
    if (tools) {
      eq(visible, text(TOOL_TEXT), 'text before the tool call');
      eq(calls.length, 1, 'tool-call parts');
      eq(calls[0].toolName, TOOL_NAME, 'tool-call toolName');
      eq(JSON.stringify(calls[0].input), JSON.stringify(toolArgs(N - TOOL_TEXT, TOOL_TEXT)), 'tool-call input');
      eq(inputDeltas, whole ? 1 : N - TOOL_TEXT, 'tool-input-delta parts carrying a token');
      eq(await r.finishReason, 'tool-calls', 'finishReason');
    } else {
      eq(visible, text(N), 'text');
      eq(await r.finishReason, 'stop', 'finishReason');
    }
    eq(usage?.outputTokens, rec.billed_output_tokens, 'usage.outputTokens vs ledger billed_output_tokens');
    eq(usage.inputTokens, rec.billed_input_tokens, 'usage.inputTokens vs ledger billed_input_tokens');
    eq(usage.outputTokenDetails?.reasoningTokens, counts ? rec.billed_reasoning_tokens : undefined,
      'usage.outputTokenDetails.reasoningTokens vs ledger billed_reasoning_tokens');
  });

  tc(`ai_generate_text_${p.name}_${what}_should_report_billed_usage`, [ai, zod, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-generate-reasoning`);
    const r = await ai.m.generateText({ model: p.model(model), prompt: 'hello', maxRetries: 0, tools: aiTools(),
      providerOptions: aiProviderOptions, headers: { ...reasoning(R, N, { tool: tools, toolText: TOOL_TEXT }), 'X-Request-Id': id } });
    const rec = await ledgerDone(id);
    checkReasoningBilled(rec, p.api, p.name);
    eq(r.reasoningText ?? '', shows ? think(R) : '', 'reasoningText');
    if (tools) {
      eq(r.text, text(TOOL_TEXT), 'text before the tool call');
      eq(r.toolCalls.length, 1, 'toolCalls');
      eq(r.toolCalls[0].toolName, TOOL_NAME, 'toolCalls[0].toolName');
      eq(JSON.stringify(r.toolCalls[0].input), JSON.stringify(toolArgs(N - TOOL_TEXT, TOOL_TEXT)), 'toolCalls[0].input');
      eq(r.finishReason, 'tool-calls', 'finishReason');
    } else {
      eq(r.text, text(N), 'text');
      eq(r.finishReason, 'stop', 'finishReason');
    }
    eq(r.usage?.outputTokens, rec.billed_output_tokens, 'usage.outputTokens vs ledger billed_output_tokens');
    eq(r.usage.inputTokens, rec.billed_input_tokens, 'usage.inputTokens vs ledger billed_input_tokens');
    eq(r.usage.outputTokenDetails?.reasoningTokens, counts ? rec.billed_reasoning_tokens : undefined,
      'usage.outputTokenDetails.reasoningTokens vs ledger billed_reasoning_tokens');
  });

  if (!shows) continue;
  tc(`ai_stream_text_${p.name}_abort_while_thinking_should_show_peer_close`, [ai, ...p.mods], async () => {
    const id = cid(`ai-${p.name}-think-abort`);
    const ac = new AbortController();
    let aborted = 0;
    const r = ai.m.streamText({ model: p.model(model), prompt: 'hello', maxRetries: 0, abortSignal: ac.signal,
      providerOptions: aiProviderOptions, headers: { ...LONG_THINK, 'X-Request-Id': id }, onAbort: () => { aborted++; } });
    let reasoningText = '';
    let err = null;
    try {
      for await (const part of r.fullStream) {
        if (part.type === 'reasoning-delta') reasoningText += part.text;
        if (reasoningText.startsWith(think(3))) ac.abort();
      }
    } catch (e) { err = e; }
    check(reasoningText.startsWith(think(3)), `reasoning ${JSON.stringify(reasoningText)} before the abort: ${errDesc(err)}`);
    check(err === null || err.name === 'AbortError', `fullStream after abort: ${errDesc(err)}`);
    eq(aborted, 1, 'onAbort calls');
    checkCloseWhileThinking(await ledgerDone(id), p.api, p.name);
  });
}

// ---------------------------------------------------------------------------------------------
// runner

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
      BASE = await startMock(TAILGATE_BIN, 'workloads', START_TIMEOUT_MS);
    } catch (e) {
      console.log(`FAIL workloads_mock_should_start ${String(e.message).replace(/\s+/g, ' ')}`);
      for (const c of runnable) console.log(`FAIL ${c.name} mock not started`);
      console.log(`workloads: 0 passed, ${runnable.length + 1} failed, ${skipped} skipped`);
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
  console.log(`workloads: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopMock();
}
process.exit(code);
