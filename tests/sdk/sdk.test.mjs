// Real-client tests: the official npm `openai` and `@anthropic-ai/sdk` against `tailgate mock`.
//
// Usage: node sdk.test.mjs            (TAILGATE_BIN overrides the binary, default ../../tailgate)
// Output: one line per case, `PASS <case>` or `FAIL <case> <reason>`, then `sdk: N passed, N failed`.
// Exit code 1 when any case failed (or the mock could not be started).
//
// Only loopback traffic; every wait is bounded; the mock child is killed on every exit path.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, check, eq, sleep, startMock, stopMock } from './mockproc.mjs';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 15_000;
const LEDGER_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;

const OPENAI_MODEL = 'gpt-4o-mini';
const ANTHROPIC_MODEL = 'claude-sonnet-5-5';

// Short deterministic generation: 8 tokens at 200 tok/s, no jitter.
const SHORT = { 'x-tailgate-length': '8', 'x-tailgate-tps': '200', 'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' };
// Long generation for abort / cancel: 1000 tokens at 50 tok/s (20 s if nobody stops it).
const LONG = { 'x-tailgate-length': '1000', 'x-tailgate-tps': '50', 'x-tailgate-ttft-ms': '20', 'x-tailgate-jitter': '0' };
const EXPECTED_8 = Array.from({ length: 8 }, (_, i) => ` tok${i}`).join('');


let BASE = null;
let runTag = `${process.pid}-${Date.now().toString(36)}`;
const cid = (name) => `sdk-${runTag}-${name}`;

function openaiClient() {
  return new OpenAI({ apiKey: 'sk-tailgate-test', baseURL: `${BASE}/v1`, maxRetries: 0, timeout: CASE_TIMEOUT_MS });
}
function anthropicClient() {
  return new Anthropic({ apiKey: 'sk-ant-tailgate-test', baseURL: BASE, maxRetries: 0, timeout: CASE_TIMEOUT_MS });
}

async function getJSON(p) {
  const r = await fetch(`${BASE}${p}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await r.text();
  if (r.status !== 200) throw new CheckError(`GET ${p} -> ${r.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

async function ledgerRecords(id) {
  const j = await getJSON(`/_tailgate/ledger?id=${encodeURIComponent(id)}`);
  check(Array.isArray(j.records), `ledger answer has no records array: ${JSON.stringify(j).slice(0, 200)}`);
  return j.records;
}

// Poll the ledger until a record for `id` (matching `pick`) is in state "done" (and `extra` holds).
async function ledgerDone(id, { pick = () => true, extra = () => true } = {}) {
  const deadline = Date.now() + LEDGER_TIMEOUT_MS;
  let last = null;
  while (Date.now() < deadline) {
    const recs = (await ledgerRecords(id)).filter(pick);
    last = recs.length ? recs[recs.length - 1] : null;
    if (last && last.state === 'done' && extra(last)) return last;
    await sleep(50);
  }
  throw new CheckError(`ledger record for ${id} not done within ${LEDGER_TIMEOUT_MS} ms; last: ${last ? summarize(last) : 'none'}`);
}

function summarize(rec) {
  const keys = ['api', 'stream', 'background', 'state', 'status', 'stop_reason', 'close_kind', 't_peer_closed_ns',
    'generated_tokens', 'written_tokens', 'billed_input_tokens', 'billed_output_tokens', 'usage_reported', 'usage_via'];
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, rec[k]])));
}

const countTokens = (s) => (s.match(/tok\d+/g) || []).length;

function errDesc(e) {
  if (!e) return String(e);
  const st = e.status !== undefined ? ` status=${e.status}` : '';
  return `${e.constructor?.name || 'Error'}${st}: ${String(e.message).slice(0, 300)}`;
}

// Expects the promise to reject with an instance of `cls`; returns the error.
async function expectReject(promise, cls, what) {
  try {
    const v = await promise;
    throw new CheckError(`${what}: expected ${cls.name}, but the call resolved: ${JSON.stringify(v).slice(0, 200)}`);
  } catch (e) {
    if (e instanceof CheckError) throw e;
    check(e instanceof cls, `${what}: expected ${cls.name}, got ${errDesc(e)}`);
    return e;
  }
}

// Checks for a record of a stream the client abandoned after >= 3 tokens.
function checkPeerClose(rec, label) {
  check(rec.t_peer_closed_ns !== null && rec.t_peer_closed_ns !== undefined, `${label}: t_peer_closed_ns is null: ${summarize(rec)}`);
  eq(rec.close_kind, 'fin', `${label}: ledger close_kind (${summarize(rec)})`);
  eq(rec.stop_reason, 'disconnect', `${label}: ledger stop_reason (${summarize(rec)})`);
  check(rec.written_tokens >= 3, `${label}: ledger written_tokens ${rec.written_tokens} < 3`);
  check(rec.generated_tokens < 1000, `${label}: generation was not stopped: generated_tokens ${rec.generated_tokens}`);
}

// Runs `start` (which must return a stream helper with .on(...) and a final-promise getter), aborts via
// AbortController once 3 tokens have arrived, and returns the number of tokens seen before the abort.
async function abortAfter3(ac, subscribe, finalPromise, label) {
  let seen = 0;
  const got3 = new Promise((resolve) => {
    subscribe((snapshot) => {
      seen = countTokens(snapshot);
      if (seen >= 3 && !ac.signal.aborted) { ac.abort(); resolve(); }
    });
  });
  // finalPromise rejects after the abort (APIUserAbortError); if it resolves or rejects first, that is a failure.
  const outcome = finalPromise.then(
    (v) => ({ ok: true, v }),
    (e) => ({ ok: false, e }),
  );
  const first = await Promise.race([got3.then(() => 'got3'), outcome.then(() => 'ended')]);
  if (first === 'ended') {
    const o = await outcome;
    throw new CheckError(`${label}: stream ended before 3 tokens (seen ${seen}): ${o.ok ? 'resolved' : errDesc(o.e)}`);
  }
  const o = await Promise.race([outcome, sleep(5000).then(() => ({ timeout: true }))]);
  check(!o.timeout, `${label}: final promise did not settle within 5 s of abort`);
  check(!o.ok, `${label}: final promise resolved after abort`);
  return { seen, err: o.e };
}

// ---------------------------------------------------------------------------------------------
// cases

const cases = [];
const tc = (name, fn) => cases.push({ name, fn });

tc('sdk_openai_chat_stream_should_report_billed_usage', async () => {
  const id = cid('chat-stream');
  const stream = openaiClient().chat.completions.stream(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }], stream_options: { include_usage: true } },
    { headers: { ...SHORT, 'X-Request-Id': id } },
  );
  const cc = await stream.finalChatCompletion();
  const rec = await ledgerDone(id);
  eq(cc.choices[0]?.message?.content, EXPECTED_8, 'content');
  eq(cc.choices[0]?.finish_reason, 'stop', 'finish_reason');
  check(cc.usage, `finalChatCompletion().usage is ${JSON.stringify(cc.usage)}`);
  eq(cc.usage.completion_tokens, 8, 'usage.completion_tokens');
  eq(rec.billed_output_tokens, 8, 'ledger billed_output_tokens');
  eq(cc.usage.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
  eq(cc.usage.total_tokens, cc.usage.prompt_tokens + 8, 'usage.total_tokens');
  eq(rec.api, 'chat', 'ledger api');
  eq(rec.stop_reason, 'natural', 'ledger stop_reason');
  eq(rec.written_tokens, 8, 'ledger written_tokens');
});

tc('sdk_openai_chat_nonstream_should_report_billed_usage', async () => {
  const id = cid('chat-nonstream');
  const cc = await openaiClient().chat.completions.create(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...SHORT, 'X-Request-Id': id } },
  );
  const rec = await ledgerDone(id);
  eq(cc.object, 'chat.completion', 'object');
  eq(cc.choices[0]?.message?.content, EXPECTED_8, 'content');
  eq(cc.choices[0]?.finish_reason, 'stop', 'finish_reason');
  eq(cc.usage?.completion_tokens, 8, 'usage.completion_tokens');
  eq(rec.billed_output_tokens, 8, 'ledger billed_output_tokens');
  eq(cc.usage.prompt_tokens, rec.billed_input_tokens, 'usage.prompt_tokens vs ledger billed_input_tokens');
  eq(rec.stream, false, 'ledger stream');
});

tc('sdk_openai_responses_stream_should_report_billed_usage', async () => {
  const id = cid('resp-stream');
  const stream = openaiClient().responses.stream(
    { model: OPENAI_MODEL, input: 'hello' },
    { headers: { ...SHORT, 'X-Request-Id': id } },
  );
  const r = await stream.finalResponse();
  const rec = await ledgerDone(id);
  eq(r.status, 'completed', 'status');
  eq(r.output_text, EXPECTED_8, 'output_text');
  check(r.usage, `finalResponse().usage is ${JSON.stringify(r.usage)}`);
  eq(r.usage.output_tokens, 8, 'usage.output_tokens');
  eq(rec.billed_output_tokens, 8, 'ledger billed_output_tokens');
  eq(r.usage.input_tokens, rec.billed_input_tokens, 'usage.input_tokens vs ledger billed_input_tokens');
  eq(rec.api, 'responses', 'ledger api');
  eq(rec.stop_reason, 'natural', 'ledger stop_reason');
});

tc('sdk_anthropic_messages_stream_should_report_billed_usage', async () => {
  const id = cid('msg-stream');
  const stream = anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...SHORT, 'X-Request-Id': id } },
  );
  const m = await stream.finalMessage();
  const rec = await ledgerDone(id);
  const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  eq(text, EXPECTED_8, 'text');
  eq(m.stop_reason, 'end_turn', 'stop_reason');
  eq(m.usage.output_tokens, 8, 'usage.output_tokens');
  eq(rec.billed_output_tokens, 8, 'ledger billed_output_tokens');
  eq(m.usage.input_tokens, rec.billed_input_tokens, 'usage.input_tokens vs ledger billed_input_tokens');
  eq(rec.api, 'messages', 'ledger api');
  eq(rec.stop_reason, 'natural', 'ledger stop_reason');
});

tc('sdk_openai_chat_abort_should_show_peer_close', async () => {
  const id = cid('chat-abort');
  const ac = new AbortController();
  const stream = openaiClient().chat.completions.stream(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }], stream_options: { include_usage: true } },
    { headers: { ...LONG, 'X-Request-Id': id }, signal: ac.signal },
  );
  const { err } = await abortAfter3(ac, (cb) => stream.on('content', (_d, snap) => cb(snap)),
    stream.finalChatCompletion(), 'chat');
  check(err instanceof OpenAI.APIUserAbortError, `finalChatCompletion after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'chat');
});

tc('sdk_openai_responses_abort_should_show_peer_close', async () => {
  const id = cid('resp-abort');
  const ac = new AbortController();
  const stream = openaiClient().responses.stream(
    { model: OPENAI_MODEL, input: 'hello' },
    { headers: { ...LONG, 'X-Request-Id': id }, signal: ac.signal },
  );
  const { err } = await abortAfter3(ac, (cb) => stream.on('response.output_text.delta', (e) => cb(e.snapshot)),
    stream.finalResponse(), 'responses');
  check(err instanceof OpenAI.APIUserAbortError, `finalResponse after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'responses');
});

tc('sdk_anthropic_messages_abort_should_show_peer_close', async () => {
  const id = cid('msg-abort');
  const ac = new AbortController();
  const stream = anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 4096, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...LONG, 'X-Request-Id': id }, signal: ac.signal },
  );
  const { err } = await abortAfter3(ac, (cb) => stream.on('text', (_d, snap) => cb(snap)),
    stream.finalMessage(), 'messages');
  check(err instanceof Anthropic.APIUserAbortError, `finalMessage after abort: expected APIUserAbortError, got ${errDesc(err)}`);
  checkPeerClose(await ledgerDone(id), 'messages');
});

tc('sdk_openai_responses_background_should_resume_and_cancel', async () => {
  const id = cid('resp-bg');
  const client = openaiClient();
  const N = 5;

  // 1. background create (non-stream) returns at once.
  const created = await client.responses.create(
    { model: OPENAI_MODEL, input: 'hello', background: true },
    { headers: { ...LONG, 'X-Request-Id': id } },
  );
  check(typeof created.id === 'string' && created.id.length > 0, `create: no id: ${JSON.stringify(created).slice(0, 200)}`);
  check(created.status === 'queued' || created.status === 'in_progress', `create: status ${JSON.stringify(created.status)}, expected queued or in_progress`);
  eq(created.background, true, 'create: background');

  // 2. retrieve with stream + starting_after: only events after N, contiguous.
  const seqs = [];
  let sawDelta = false;
  const retr = await client.responses.retrieve(created.id, { stream: true, starting_after: N },
    { headers: { 'X-Request-Id': `${id}-retrieve` } });
  for await (const ev of retr) {
    seqs.push(ev.sequence_number);
    if (ev.type === 'response.output_text.delta') sawDelta = true;
    if (seqs.length >= 6 && sawDelta) break; // break aborts this GET, not the background response
  }
  check(seqs.length >= 6, `retrieve(starting_after=${N}) yielded only ${seqs.length} events before ending: ${JSON.stringify(seqs)}`);
  check(seqs.every((s) => s > N), `retrieve(starting_after=${N}) yielded sequence numbers <= ${N}: ${JSON.stringify(seqs)}`);
  eq(seqs[0], N + 1, `retrieve(starting_after=${N}) first sequence_number`);
  check(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1), `retrieve sequence numbers not contiguous: ${JSON.stringify(seqs)}`);

  // 3. SDK resume helper: replays from 0, filters locally.
  const seqs2 = [];
  const rs = client.responses.stream({ response_id: created.id, starting_after: N },
    { headers: { 'X-Request-Id': `${id}-resume` } });
  let lastSnapshotText = '';
  rs.on('response.output_text.delta', (e) => { lastSnapshotText = e.snapshot; });
  for await (const ev of rs) {
    seqs2.push(ev.sequence_number);
    if (seqs2.length >= 6) break;
  }
  rs.finalResponse().catch(() => {}); // aborted by the break
  check(seqs2.length >= 6, `responses.stream({response_id, starting_after}) yielded only ${seqs2.length} events: ${JSON.stringify(seqs2)}`);
  eq(seqs2[0], N + 1, 'resume first sequence_number');
  check(seqs2.every((s, i) => s > N && (i === 0 || s === seqs2[i - 1] + 1)), `resume sequence numbers: ${JSON.stringify(seqs2)}`);
  check(/^ tok0 tok1/.test(lastSnapshotText), `resume snapshot text should start at tok0 (full replay), got ${JSON.stringify(lastSnapshotText.slice(0, 40))}`);

  // 4. cancel, then cancel again (idempotent).
  const c1 = await client.responses.cancel(created.id, { headers: { 'X-Request-Id': `${id}-cancel1` } });
  eq(c1.id, created.id, 'cancel: id');
  eq(c1.status, 'cancelled', 'cancel: status');
  const c2 = await client.responses.cancel(created.id, { headers: { 'X-Request-Id': `${id}-cancel2` } });
  eq(c2.status, 'cancelled', 'second cancel: status');
  const strip = (o) => JSON.stringify(o, (k, v) => (k === '_request_id' ? undefined : v));
  check(strip(c1) === strip(c2), `second cancel returned a different object:\n  first:  ${strip(c1).slice(0, 300)}\n  second: ${strip(c2).slice(0, 300)}`);

  const rec = await ledgerDone(id, { pick: (r) => r.background === true });
  eq(rec.close_kind, 'cancel_api', `ledger close_kind (${summarize(rec)})`);
  eq(rec.stop_reason, 'cancel', `ledger stop_reason (${summarize(rec)})`);
  check(rec.generated_tokens < 1000, `ledger generated_tokens ${rec.generated_tokens}: generation was not stopped by cancel`);
});

const FAULT_429 = 'status=429,retry-after=0,should-retry=false';

tc('sdk_openai_429_should_be_rate_limit_error', async () => {
  const id = cid('openai-429');
  const e = await expectReject(openaiClient().chat.completions.create(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true },
    { headers: { ...SHORT, 'X-Request-Id': id, 'x-tailgate-fault': FAULT_429 } },
  ), OpenAI.RateLimitError, 'chat 429');
  eq(e.status, 429, 'error status');
  const rec = await ledgerDone(id);
  eq(rec.status, 429, 'ledger status');
  eq(rec.stop_reason, 'http_error', 'ledger stop_reason');
  eq(rec.attempt, 1, 'ledger attempt (no SDK retry)');
});

tc('sdk_anthropic_429_should_be_rate_limit_error', async () => {
  const id = cid('anthropic-429');
  const e = await expectReject(anthropicClient().messages.create(
    { model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...SHORT, 'X-Request-Id': id, 'x-tailgate-fault': FAULT_429 } },
  ), Anthropic.RateLimitError, 'messages 429');
  eq(e.status, 429, 'error status');
  eq(e.error?.error?.type, 'rate_limit_error', 'error body error.type');
  const rec = await ledgerDone(id);
  eq(rec.status, 429, 'ledger status');
  eq(rec.attempt, 1, 'ledger attempt (no SDK retry)');
});

tc('sdk_anthropic_529_should_be_overloaded_error', async () => {
  const id = cid('anthropic-529');
  const cls = Anthropic.OverloadedError || Anthropic.APIError;
  const e = await expectReject(anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...SHORT, 'X-Request-Id': id, 'x-tailgate-fault': 'status=529,retry-after=0,should-retry=false' } },
  ).finalMessage(), cls, 'messages.stream 529');
  eq(e.status, 529, 'error status');
  eq(e.error?.error?.type, 'overloaded_error', 'error body error.type');
  const rec = await ledgerDone(id);
  eq(rec.status, 529, 'ledger status');
});

tc('sdk_openai_bad_input_should_be_400_error_shape', async () => {
  const id = cid('bad-input');
  // raw request: messages is not an array
  const r = await fetch(`${BASE}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tailgate-test', 'X-Request-Id': id },
    body: JSON.stringify({ model: OPENAI_MODEL, messages: 'not an array' }),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await r.text();
  eq(r.status, 400, `raw status (body ${text.slice(0, 200)})`);
  let j;
  try { j = JSON.parse(text); } catch { throw new CheckError(`400 body is not JSON: ${text.slice(0, 200)}`); }
  const err = j?.error;
  check(err && typeof err === 'object', `400 body has no error object: ${text.slice(0, 200)}`);
  for (const k of ['message', 'type', 'param', 'code']) check(k in err, `error object lacks "${k}": ${text.slice(0, 200)}`);
  check(typeof err.message === 'string' && err.message.length > 0, `error.message not a non-empty string: ${text.slice(0, 200)}`);
  check(typeof err.type === 'string', `error.type not a string: ${text.slice(0, 200)}`);
  check(err.param === null || typeof err.param === 'string', `error.param not string|null: ${text.slice(0, 200)}`);
  check(err.code === null || typeof err.code === 'string', `error.code not string|null: ${text.slice(0, 200)}`);

  // same through the SDK: typed BadRequestError carrying the same fields
  const e = await expectReject(openaiClient().chat.completions.create(
    { model: OPENAI_MODEL, messages: 'not an array' },
    { headers: { 'X-Request-Id': `${id}-sdk` } },
  ), OpenAI.BadRequestError, 'sdk bad input');
  eq(e.status, 400, 'sdk error status');
  eq(e.type, err.type, 'sdk error.type');
  eq(e.param, err.param, 'sdk error.param');
});

// ---- reasoning and tool calls: the SDKs' stream helpers assemble them and report the usage billed

const THINK = { ...SHORT, 'x-tailgate-reasoning-tokens': '5', 'x-tailgate-reasoning-tps': '500' };
const TOOL = { 'x-tailgate-tool-call': '1', 'x-tailgate-tool-text': '3' };
const EXPECTED_TEXT_3 = ' tok0 tok1 tok2';
const EXPECTED_ARGS = JSON.stringify({ query: ' tok3 tok4 tok5 tok6 tok7' });
const EXPECTED_THINK_5 = Array.from({ length: 5 }, (_, i) => ` think${i}`).join('');

function checkReasoningRecord(rec, label) {
  eq(rec.reasoning_tokens, 5, `${label}: ledger reasoning_tokens`);
  eq(rec.reasoning_t_ns.length, 5, `${label}: ledger reasoning_t_ns`);
  eq(rec.generated_tokens, 8, `${label}: ledger generated_tokens`);
  eq(rec.billed_output_tokens, 13, `${label}: ledger billed_output_tokens`);
  eq(rec.billed_reasoning_tokens, 5, `${label}: ledger billed_reasoning_tokens`);
  eq(rec.tool_call, true, `${label}: ledger tool_call`);
  eq(rec.tool_text_tokens, 3, `${label}: ledger tool_text_tokens`);
}

tc('sdk_openai_chat_stream_should_assemble_a_tool_call_after_hidden_reasoning', async () => {
  const id = cid('chat-think-tool');
  const stream = openaiClient().chat.completions.stream(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }], stream_options: { include_usage: true } },
    { headers: { ...THINK, ...TOOL, 'X-Request-Id': id } },
  );
  const cc = await stream.finalChatCompletion();
  const rec = await ledgerDone(id);
  const m = cc.choices[0]?.message;
  eq(m?.content, EXPECTED_TEXT_3, 'content');
  eq(m?.tool_calls?.length, 1, 'tool_calls.length');
  eq(m.tool_calls[0].type, 'function', 'tool_calls[0].type');
  eq(m.tool_calls[0].function.name, 'tailgate_lookup', 'tool_calls[0].function.name');
  eq(m.tool_calls[0].function.arguments, EXPECTED_ARGS, 'tool_calls[0].function.arguments');
  eq(JSON.parse(m.tool_calls[0].function.arguments).query, ' tok3 tok4 tok5 tok6 tok7', 'parsed arguments');
  eq(cc.choices[0].finish_reason, 'tool_calls', 'finish_reason');
  eq(cc.usage?.completion_tokens, rec.billed_output_tokens, 'usage.completion_tokens vs ledger');
  eq(cc.usage?.completion_tokens_details?.reasoning_tokens, rec.billed_reasoning_tokens,
    'usage.completion_tokens_details.reasoning_tokens vs ledger');
  checkReasoningRecord(rec, 'chat');
});

tc('sdk_openai_chat_stream_should_pass_reasoning_content_through', async () => {
  const id = cid('chat-reasoning-content');
  const stream = openaiClient().chat.completions.stream(
    { model: OPENAI_MODEL, messages: [{ role: 'user', content: 'hello' }], stream_options: { include_usage: true } },
    { headers: { ...THINK, 'x-tailgate-reasoning-content': '1', 'X-Request-Id': id } },
  );
  let reasoning = '';
  stream.on('chunk', (c) => { reasoning += c.choices[0]?.delta?.reasoning_content ?? ''; });
  const cc = await stream.finalChatCompletion();
  const rec = await ledgerDone(id);
  eq(reasoning, EXPECTED_THINK_5, 'delta.reasoning_content joined');
  eq(cc.choices[0]?.message?.content, EXPECTED_8, 'content');
  eq(cc.usage?.completion_tokens_details?.reasoning_tokens, 5, 'reasoning_tokens');
  eq(rec.billed_output_tokens, 13, 'ledger billed_output_tokens');
});

tc('sdk_openai_responses_stream_should_assemble_reasoning_text_and_a_function_call', async () => {
  const id = cid('resp-think-tool');
  const stream = openaiClient().responses.stream(
    { model: OPENAI_MODEL, input: 'hello' },
    { headers: { ...THINK, ...TOOL, 'X-Request-Id': id } },
  );
  let summary = '';
  let args = '';
  stream.on('response.reasoning_summary_text.delta', (e) => { summary += e.delta; });
  stream.on('response.function_call_arguments.delta', (e) => { args += e.delta; });
  const r = await stream.finalResponse();
  const rec = await ledgerDone(id);
  eq(r.status, 'completed', 'status');
  eq(r.output.map((o) => o.type).join(','), 'reasoning,message,function_call', 'output types');
  eq(r.output[0].summary?.[0]?.text, EXPECTED_THINK_5, 'reasoning summary');
  eq(summary, EXPECTED_THINK_5, 'reasoning_summary_text deltas');
  eq(r.output_text, EXPECTED_TEXT_3, 'output_text');
  eq(r.output[2].arguments, EXPECTED_ARGS, 'function_call arguments');
  eq(args, EXPECTED_ARGS, 'function_call_arguments deltas');
  eq(r.output[2].name, 'tailgate_lookup', 'function_call name');
  eq(r.usage?.output_tokens, rec.billed_output_tokens, 'usage.output_tokens vs ledger');
  eq(r.usage?.output_tokens_details?.reasoning_tokens, rec.billed_reasoning_tokens,
    'usage.output_tokens_details.reasoning_tokens vs ledger');
  checkReasoningRecord(rec, 'responses');
});

tc('sdk_anthropic_stream_should_assemble_thinking_text_and_tool_use', async () => {
  const id = cid('msg-think-tool');
  const stream = anthropicClient().messages.stream(
    { model: ANTHROPIC_MODEL, max_tokens: 1000, messages: [{ role: 'user', content: 'hello' }] },
    { headers: { ...THINK, ...TOOL, 'X-Request-Id': id } },
  );
  let thinking = '';
  stream.on('thinking', (delta) => { thinking += delta; });
  const m = await stream.finalMessage();
  const rec = await ledgerDone(id);
  eq(m.content.map((b) => b.type).join(','), 'thinking,text,tool_use', 'content types');
  eq(m.content[0].thinking, EXPECTED_THINK_5, 'thinking');
  eq(thinking, EXPECTED_THINK_5, 'thinking deltas');
  check(typeof m.content[0].signature === 'string' && m.content[0].signature.length > 0, 'thinking signature');
  eq(m.content[1].text, EXPECTED_TEXT_3, 'text');
  eq(m.content[2].name, 'tailgate_lookup', 'tool_use name');
  eq(m.content[2].input?.query, ' tok3 tok4 tok5 tok6 tok7', 'tool_use input.query');
  eq(m.stop_reason, 'tool_use', 'stop_reason');
  eq(m.usage?.output_tokens, rec.billed_output_tokens, 'usage.output_tokens vs ledger');
  checkReasoningRecord(rec, 'messages');
});

// ---------------------------------------------------------------------------------------------
// runner

async function runCase(c) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`case timed out after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
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

async function main() {
  const only = process.env.SDK_TEST_ONLY ? new RegExp(process.env.SDK_TEST_ONLY) : null;
  const selected = only ? cases.filter((c) => only.test(c.name)) : cases;
  try {
    BASE = await startMock(TAILGATE_BIN, 'sdk', START_TIMEOUT_MS);
  } catch (e) {
    console.log(`FAIL sdk_mock_should_start ${String(e.message).replace(/\s+/g, ' ')}`);
    for (const c of selected) console.log(`FAIL ${c.name} mock not started`);
    console.log(`sdk: 0 passed, ${selected.length + 1} failed`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const c of selected) {
    const reason = await runCase(c);
    if (reason === null) { passed++; console.log(`PASS ${c.name}`); }
    else { failed++; console.log(`FAIL ${c.name} ${reason.replace(/\s+/g, ' ')}`); }
  }
  console.log(`sdk: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopMock();
}
process.exit(code);
