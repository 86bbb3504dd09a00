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

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 15_000;
const LEDGER_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;

const OPENAI_MODEL = 'gpt-4o-mini';
const ANTHROPIC_MODEL = 'claude-sonnet-5-5';
const GEMINI_MODEL = 'gemini-2.5-flash';

const gen = (n, tps) => ({ 'x-tailgate-length': String(n), 'x-tailgate-tps': String(tps),
  'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' });
const SHORT = gen(8, 200); // 8 tokens in about 60 ms
const LONG = gen(1000, 50); // 20 s unless someone stops it
const text = (n, from = 0) => Array.from({ length: n }, (_, i) => ` tok${from + i}`).join('');
const countTokens = (s) => (s.match(/tok\d+/g) || []).length;

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

// ---------------------------------------------------------------------------------------------
// mock child process

let child = null;
let tmpDir = null;

function killChild(signal) {
  if (child && child.exitCode === null && child.signalCode === null) {
    try { process.kill(child.pid, signal); } catch { /* already gone */ }
  }
}

function cleanup() {
  killChild('SIGKILL');
  if (tmpDir) { try { rmSync(tmpDir, { recursive: true, force: true }); } catch { /* ignore */ } tmpDir = null; }
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { cleanup(); process.exit(sig === 'SIGINT' ? 130 : 143); });
}
process.on('uncaughtException', (e) => {
  console.error(`uncaught exception: ${e?.stack || e}`);
  cleanup();
  process.exit(1);
});
// An aborted stream's promises (usage, finishReason, ...) reject with nobody waiting; expected.
process.on('unhandledRejection', (e) => {
  if (process.env.SDK_TEST_DEBUG) console.error(`(ignored unhandled rejection: ${e?.name}: ${e?.message})`);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startMock() {
  if (!existsSync(TAILGATE_BIN)) throw new Error(`tailgate binary not found at ${TAILGATE_BIN} (set TAILGATE_BIN)`);
  tmpDir = mkdtempSync(path.join(tmpdir(), 'tailgate-workloads-'));
  const portFile = path.join(tmpDir, 'port');
  let stderr = '';
  child = spawn(TAILGATE_BIN, ['mock', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { if (stderr.length < 4000) stderr += d; });
  child.on('error', (e) => { stderr += `spawn error: ${e.message}`; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastErr = 'port file never written';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mock exited early (code ${child.exitCode}, signal ${child.signalCode}): ${stderr.trim().slice(0, 500)}`);
    }
    let port = null;
    try { port = parseInt(readFileSync(portFile, 'utf8').trim(), 10); } catch { /* not yet */ }
    if (port > 0) {
      const base = `http://127.0.0.1:${port}`;
      try {
        const r = await fetch(`${base}/_tailgate/health`, { signal: AbortSignal.timeout(1000) });
        const j = await r.json();
        if (r.status === 200 && j.status === 'ok') return base;
        lastErr = `health answered ${r.status} ${JSON.stringify(j)}`;
      } catch (e) { lastErr = `health: ${e.message}`; }
    }
    await sleep(50);
  }
  throw new Error(`mock not ready within ${START_TIMEOUT_MS} ms: ${lastErr}; stderr: ${stderr.trim().slice(0, 500)}`);
}

// ---------------------------------------------------------------------------------------------
// checks and the ledger

class CheckError extends Error {}

function check(cond, msg) { if (!cond) throw new CheckError(msg); }
function eq(actual, expected, what) {
  check(Object.is(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

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
      BASE = await startMock();
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
  killChild('SIGTERM');
  const t0 = Date.now();
  while (child && child.exitCode === null && child.signalCode === null && Date.now() - t0 < 2000) await sleep(20);
  cleanup();
}
process.exit(code);
