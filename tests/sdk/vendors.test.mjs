// Real clients of the legacy completions endpoint, Azure OpenAI and Ollama against `tailgate
// mock`: the official openai SDK's completions.create (streamed with stream_options.include_usage,
// and whole), its AzureOpenAI client (streamed, through the stream helper, and whole)
// and the ollama npm client's chat and generate (NDJSON streams and stream:false), each checked
// against the ledger: the text holds the mock's tokens, the usage the client reports (usage,
// eval_count and prompt_eval_count) is what the ledger bills, an abort (AbortController, the
// ollama client's AbortableAsyncIterator.abort()) shows as the peer's close, and an error is the
// client's own error type with the vendor's status and message.
//
// Usage: node vendors.test.mjs      (TAILGATE_BIN overrides the binary, default ../../tailgate)
// Output: one line per case, `PASS <case>`, `FAIL <case> <reason>` or `SKIP <case> <reason>`, then
// `vendors: N passed, N failed, N skipped`. Exit code 1 when any case failed.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, check, eq, sleep, startMock, stopMock } from './mockproc.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 15_000;
const LEDGER_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;

const gen = (n, tps) => ({ 'x-tailgate-length': String(n), 'x-tailgate-tps': String(tps),
  'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' });
const SHORT = gen(8, 200); // 8 tokens in about 60 ms
const LONG = gen(1000, 50); // 20 s unless someone stops it
const text = (n, from = 0) => Array.from({ length: n }, (_, i) => ` tok${from + i}`).join('');
const countTokens = (s) => (s.match(/tok\d+/g) || []).length;

async function load(name) {
  try {
    return { m: await import(name), why: null };
  } catch (e) {
    return { m: null, why: `${name} not installed in tests/sdk/node_modules (${e.code || e.message})` };
  }
}
const openai = await load('openai');
const ollama = await load('ollama');

function errDesc(e) {
  if (!e) return String(e);
  const st = e.status !== undefined ? ` status=${e.status}` : e.status_code !== undefined ? ` status_code=${e.status_code}` : '';
  return `${e.constructor?.name || 'Error'}${st}: ${String(e.message).slice(0, 300)}`;
}

let BASE = null;
const runTag = `${process.pid}-${Date.now().toString(36)}`;
const cid = (name) => `vd-${runTag}-${name}`;

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

function checkPeerClose(rec, api, label) {
  const s = `${label} ledger (${summarize(rec)})`;
  eq(rec.api, api, `${s} api`);
  check(rec.close_kind === 'fin' || rec.close_kind === 'rst', `${s}: close_kind is not fin or rst`);
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

// ---------------------------------------------------------------------------------------------
// clients

function openaiClient(id, headers) {
  return new openai.m.OpenAI({ apiKey: 'sk-tailgate-test', baseURL: `${BASE}/v1`, maxRetries: 0,
    defaultHeaders: { ...headers, 'X-Request-Id': id } });
}

// The SDK's Azure client: {endpoint}/openai/deployments/{deployment}/chat/completions
// ?api-version=..., the key in an api-key header.
function azureClient(id, headers) {
  return new openai.m.AzureOpenAI({ apiKey: 'tailgate-azure-key', endpoint: BASE, apiVersion: '2024-10-21',
    deployment: 'gpt-4o', maxRetries: 0, defaultHeaders: { ...headers, 'X-Request-Id': id } });
}

function ollamaClient(id, headers) {
  return new ollama.m.Ollama({ host: BASE, headers: { ...headers, 'X-Request-Id': id } });
}

const OLLAMA_MODEL = 'llama3.2';
const MSGS = [{ role: 'user', content: 'hello' }];

// Ollama's done line against the ledger: eval_count the output billed, prompt_eval_count the
// input, the durations adding up (load 0, as the mock has nothing to load).
function checkOllamaDone(d, rec, n, label) {
  eq(d.done, true, `${label} done`);
  eq(d.done_reason, 'stop', `${label} done_reason`);
  eq(d.eval_count, n, `${label} eval_count`);
  eq(d.eval_count, rec.billed_output_tokens, `${label} eval_count vs ledger billed_output_tokens`);
  eq(d.prompt_eval_count, rec.billed_input_tokens, `${label} prompt_eval_count vs ledger billed_input_tokens`);
  eq(d.load_duration, 0, `${label} load_duration`);
  eq(d.prompt_eval_duration + d.eval_duration, d.total_duration, `${label} durations add up`);
  check(d.total_duration > 0 && d.eval_duration >= 0, `${label}: durations ${d.total_duration} ${d.eval_duration}`);
}

// ---------------------------------------------------------------------------------------------
// cases

const cases = [];
const tc = (name, mods, fn) => cases.push({ name, mods, fn });

tc('openai_completions_stream_should_report_billed_usage', [openai], async () => {
  const id = cid('cmpl-stream');
  const stream = await openaiClient(id, SHORT).completions.create({ model: 'gpt-3.5-turbo-instruct',
    prompt: 'hello', stream: true, stream_options: { include_usage: true }, max_tokens: 100 });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'completions', 8, 'completions stream');
  // one chunk per token, the finish chunk, the usage chunk
  eq(chunks.length, 10, 'chunks the SDK yielded');
  eq(chunks.slice(0, 8).map((c) => c.choices[0].text).join(''), text(8), 'joined text');
  eq(chunks[8].choices[0].finish_reason, 'stop', 'finish chunk finish_reason');
  eq(chunks[9].choices.length, 0, 'usage chunk choices');
  const u = chunks[9].usage;
  eq(u?.completion_tokens, rec.billed_output_tokens, 'usage.completion_tokens vs ledger billed_output_tokens');
  eq(u.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
  eq(u.total_tokens, rec.billed_input_tokens + rec.billed_output_tokens, 'usage.total_tokens');
  eq(chunks[0].object, 'text_completion', 'chunk object');
  eq(rec.usage_reported, 8, 'ledger usage_reported');
});

tc('openai_completions_create_should_report_billed_usage', [openai], async () => {
  const id = cid('cmpl-body');
  const r = await openaiClient(id, SHORT).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hello' });
  const rec = await ledgerDone(id);
  checkComplete(rec, 'completions', 8, 'completions body');
  eq(r.object, 'text_completion', 'object');
  eq(r.choices[0].text, text(8), 'text');
  eq(r.choices[0].finish_reason, 'stop', 'finish_reason');
  eq(r.usage.completion_tokens, rec.billed_output_tokens, 'usage.completion_tokens vs ledger billed_output_tokens');
  eq(r.usage.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
});

tc('openai_completions_abort_should_show_peer_close', [openai], async () => {
  const id = cid('cmpl-abort');
  const ac = new AbortController();
  const stream = await openaiClient(id, LONG).completions.create({ model: 'gpt-3.5-turbo-instruct',
    prompt: 'hello', stream: true }, { signal: ac.signal });
  let seen = '';
  let err = null;
  try {
    for await (const c of stream) {
      seen += c.choices[0]?.text ?? '';
      if (countTokens(seen) >= 3) ac.abort();
    }
  } catch (e) { err = e; }
  check(countTokens(seen) >= 3, `stream ended after ${countTokens(seen)} tokens, before the abort: ${errDesc(err)}`);
  // the SDK's raw stream ends its iteration quietly on its own signal's abort
  check(err === null || err instanceof openai.m.APIUserAbortError, `iteration after abort: ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'completions', 'completions abort');
});

tc('openai_completions_429_should_be_a_rate_limit_error', [openai], async () => {
  const id = cid('cmpl-429');
  let err = null;
  try {
    await openaiClient(id, { 'x-tailgate-fault': 'status=429,retry-after=1' }).completions.create(
      { model: 'gpt-3.5-turbo-instruct', prompt: 'hello' });
  } catch (e) { err = e; }
  check(err instanceof openai.m.RateLimitError, `expected RateLimitError, got ${errDesc(err)}`);
  eq(err.code, 'rate_limit_exceeded', 'error code');
});

tc('azure_openai_stream_should_report_billed_usage', [openai], async () => {
  const id = cid('azure-stream');
  const stream = await azureClient(id, SHORT).chat.completions.create({ model: 'gpt-4o', messages: MSGS,
    stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'azure', 8, 'azure stream');
  // the prompt's filter results, the role chunk, 8 tokens, the finish chunk, the usage chunk
  eq(chunks.length, 12, 'chunks the SDK yielded');
  check(Array.isArray(chunks[0].prompt_filter_results) && chunks[0].choices.length === 0, `first chunk: ${JSON.stringify(chunks[0]).slice(0, 200)}`);
  eq(chunks.slice(1, 10).map((c) => c.choices[0].delta.content ?? '').join(''), text(8), 'joined content');
  eq(chunks[2].choices[0].content_filter_results?.hate?.severity, 'safe', 'content_filter_results');
  eq(chunks[10].choices[0].finish_reason, 'stop', 'finish_reason');
  const u = chunks[11].usage;
  eq(u?.completion_tokens, rec.billed_output_tokens, 'usage.completion_tokens vs ledger billed_output_tokens');
  eq(u.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
  eq(rec.model, 'gpt-4o', 'ledger model');
});

tc('azure_openai_stream_helper_should_assemble_the_answer_and_usage', [openai], async () => {
  const id = cid('azure-helper');
  const stream = azureClient(id, SHORT).chat.completions.stream({ model: 'gpt-4o', messages: MSGS,
    stream_options: { include_usage: true } });
  const final = await stream.finalChatCompletion();
  const rec = await ledgerDone(id);
  checkComplete(rec, 'azure', 8, 'azure helper');
  eq(final.choices[0].message.content, text(8), 'content');
  eq(final.usage?.completion_tokens, rec.billed_output_tokens, 'finalChatCompletion usage vs ledger');
});

tc('azure_openai_create_should_report_billed_usage', [openai], async () => {
  const id = cid('azure-body');
  const r = await azureClient(id, SHORT).chat.completions.create({ model: 'gpt-4o', messages: MSGS });
  const rec = await ledgerDone(id);
  checkComplete(rec, 'azure', 8, 'azure body');
  eq(r.choices[0].message.content, text(8), 'content');
  eq(r.usage.completion_tokens, rec.billed_output_tokens, 'usage.completion_tokens vs ledger billed_output_tokens');
  eq(r.usage.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
});

tc('azure_openai_abort_should_show_peer_close', [openai], async () => {
  const id = cid('azure-abort');
  const ac = new AbortController();
  const stream = await azureClient(id, LONG).chat.completions.create({ model: 'gpt-4o', messages: MSGS,
    stream: true }, { signal: ac.signal });
  let seen = '';
  let err = null;
  try {
    for await (const c of stream) {
      seen += c.choices[0]?.delta?.content ?? '';
      if (countTokens(seen) >= 3) ac.abort();
    }
  } catch (e) { err = e; }
  check(countTokens(seen) >= 3, `stream ended after ${countTokens(seen)} tokens, before the abort: ${errDesc(err)}`);
  check(err === null || err instanceof openai.m.APIUserAbortError, `iteration after abort: ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'azure', 'azure abort');
});

tc('azure_openai_errors_should_carry_azure_codes', [openai], async () => {
  let err = null;
  try {
    await azureClient(cid('azure-429'), { 'x-tailgate-fault': 'status=429,retry-after=1' }).chat.completions.create(
      { model: 'gpt-4o', messages: MSGS });
  } catch (e) { err = e; }
  check(err instanceof openai.m.RateLimitError, `expected RateLimitError, got ${errDesc(err)}`);
  eq(err.code, '429', 'error code');
  err = null;
  try {
    const c = new openai.m.AzureOpenAI({ apiKey: 'k', endpoint: BASE, apiVersion: 'not-a-version', maxRetries: 0 });
    await c.chat.completions.create({ model: 'gpt-4o', messages: MSGS });
  } catch (e) { err = e; }
  check(err instanceof openai.m.BadRequestError, `expected BadRequestError, got ${errDesc(err)}`);
  eq(err.code, 'BadRequest', 'error code');
});

tc('ollama_chat_stream_should_report_billed_eval_count', [ollama], async () => {
  const id = cid('ollama-chat');
  const stream = await ollamaClient(id, SHORT).chat({ model: OLLAMA_MODEL, messages: MSGS, stream: true });
  const parts = [];
  for await (const p of stream) parts.push(p);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'ollama', 8, 'ollama chat stream');
  eq(parts.length, 9, 'parts the client yielded');
  for (let i = 0; i < 8; i++) {
    eq(parts[i].message.content, ` tok${i}`, `part ${i} content`);
    eq(parts[i].done, false, `part ${i} done`);
    eq(parts[i].model, OLLAMA_MODEL, `part ${i} model`);
  }
  eq(parts[8].message.content, '', 'done part content');
  checkOllamaDone(parts[8], rec, 8, 'ollama chat');
  eq(rec.usage_reported, 8, 'ledger usage_reported');
});

tc('ollama_generate_stream_should_report_billed_eval_count', [ollama], async () => {
  const id = cid('ollama-generate');
  const stream = await ollamaClient(id, SHORT).generate({ model: OLLAMA_MODEL, prompt: 'hello', stream: true });
  const parts = [];
  for await (const p of stream) parts.push(p);
  const rec = await ledgerDone(id);
  checkComplete(rec, 'ollama', 8, 'ollama generate stream');
  eq(parts.map((p) => p.response).join(''), text(8), 'joined response');
  checkOllamaDone(parts[parts.length - 1], rec, 8, 'ollama generate');
});

tc('ollama_chat_without_stream_should_report_billed_eval_count', [ollama], async () => {
  const id = cid('ollama-body');
  const r = await ollamaClient(id, SHORT).chat({ model: OLLAMA_MODEL, messages: MSGS });
  const rec = await ledgerDone(id);
  checkComplete(rec, 'ollama', 8, 'ollama chat body');
  eq(rec.stream, false, 'ledger stream');
  eq(r.message.content, text(8), 'content');
  checkOllamaDone(r, rec, 8, 'ollama chat body');
});

tc('ollama_abort_should_show_peer_close', [ollama], async () => {
  const id = cid('ollama-abort');
  const stream = await ollamaClient(id, LONG).chat({ model: OLLAMA_MODEL, messages: MSGS, stream: true });
  let seen = '';
  let err = null;
  try {
    for await (const p of stream) {
      seen += p.message.content;
      if (countTokens(seen) >= 3) stream.abort();
    }
  } catch (e) { err = e; }
  check(countTokens(seen) >= 3, `stream ended after ${countTokens(seen)} tokens, before the abort: ${errDesc(err)}`);
  check(err && err.name === 'AbortError', `iteration after abort: expected an AbortError, got ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'ollama', 'ollama abort');
});

tc('ollama_errors_should_be_response_errors_with_the_message', [ollama], async () => {
  let err = null;
  try {
    await ollamaClient(cid('ollama-400'), SHORT).chat({ model: '', messages: MSGS });
  } catch (e) { err = e; }
  check(err?.name === 'ResponseError', `expected ResponseError, got ${errDesc(err)}`);
  eq(err.status_code, 400, 'status_code');
  eq(err.error, 'model is required', 'error');
  // an error line mid-stream is thrown by the iterator
  const id = cid('ollama-midstream');
  const stream = await ollamaClient(id, { ...SHORT, 'x-tailgate-fault': 'error-after=3' }).chat(
    { model: OLLAMA_MODEL, messages: MSGS, stream: true });
  let seen = '';
  err = null;
  try {
    for await (const p of stream) seen += p.message.content;
  } catch (e) { err = e; }
  eq(seen, text(3), 'content before the error');
  check(err && /unexpected EOF/.test(err.message), `expected the error line's message, got ${errDesc(err)}`);
  const rec = await ledgerDone(id);
  eq(rec.stop_reason, 'error_fault', `ledger stop_reason (${summarize(rec)})`);
});

// ---------------------------------------------------------------------------------------------

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
      BASE = await startMock(TAILGATE_BIN, 'vendors', START_TIMEOUT_MS);
    } catch (e) {
      console.log(`FAIL vendors_mock_should_start ${String(e.message).replace(/\s+/g, ' ')}`);
      for (const c of runnable) console.log(`FAIL ${c.name} mock not started`);
      console.log(`vendors: 0 passed, ${runnable.length + 1} failed, ${skipped} skipped`);
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
  console.log(`vendors: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopMock();
}
process.exit(code);
