// A real Toxiproxy client (npm `toxiproxy-node-client`) against `tailgate chaos proxy --api`:
// the library's own calls create, list, get, update and delete proxies and toxics, reset,
// populate and read the version, and its errors surface for bad requests; what a web page could
// send (a text/plain POST, a foreign Origin) is refused. Data goes through the created proxy to a
// local echo server, so the toxics are seen to act.
//
// Usage: node toxiproxy.test.mjs      (TAILGATE_BIN overrides the binary, default ../../tailgate)
// Output: `PASS <case>` or `FAIL <case> <reason>` per case, then `toxiproxy: N passed, N failed`.
// Exit code 1 when any case failed. Loopback only; every wait is bounded; the child is killed on
// every exit path.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Toxiproxy, ToxiproxyError } from 'toxiproxy-node-client';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TAILGATE_BIN = process.env.TAILGATE_BIN || path.resolve(HERE, '../../tailgate');
const START_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 10_000;
const IO_TIMEOUT_MS = 3_000;

// ---------------------------------------------------------------------------------------------
// the tailgate child, the echo upstream

let child = null;
let tmpDir = null;
let echo = null;
const sockets = new Set();

function cleanup() {
  if (child && child.exitCode === null && child.signalCode === null) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const s of sockets) s.destroy();
  if (echo) { echo.close(); echo = null; }
  if (tmpDir) { try { rmSync(tmpDir, { recursive: true, force: true }); } catch { /* ignore */ } tmpDir = null; }
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { cleanup(); process.exit(sig === 'SIGINT' ? 130 : 143); });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startTailgate() {
  if (!existsSync(TAILGATE_BIN)) throw new Error(`tailgate binary not found at ${TAILGATE_BIN} (set TAILGATE_BIN)`);
  tmpDir = mkdtempSync(path.join(tmpdir(), 'tailgate-toxiproxy-'));
  const portFile = path.join(tmpDir, 'api-port');
  let stderr = '';
  child = spawn(TAILGATE_BIN, ['chaos', 'proxy', '--api', '127.0.0.1:0', '--api-port-file', portFile, '--seed', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { if (stderr.length < 4000) stderr += d; });
  child.on('error', (e) => { stderr += `spawn error: ${e.message}`; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`tailgate exited early (code ${child.exitCode}): ${stderr.trim().slice(0, 500)}`);
    }
    let port = 0;
    try { port = parseInt(readFileSync(portFile, 'utf8').trim(), 10); } catch { /* not yet */ }
    if (port > 0) return `http://127.0.0.1:${port}`;
    await sleep(20);
  }
  throw new Error(`API not ready within ${START_TIMEOUT_MS} ms; stderr: ${stderr.trim().slice(0, 500)}`);
}

function startEcho() {
  return new Promise((resolve, reject) => {
    echo = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); s.pipe(s); });
    echo.on('error', reject);
    echo.listen(0, '127.0.0.1', () => resolve(echo.address().port));
  });
}

// Connects to "host:port"; resolves with the socket, rejects on error.
function connect(addr) {
  const i = addr.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.once('connect', () => { s.setNoDelay(true); resolve(s); });
    s.once('error', reject);
  });
}

// Sends `text`, waits for it to come back; resolves with the round trip in ms.
function roundTrip(sock, text) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = '';
    const timer = setTimeout(() => { cleanupListeners(); reject(new Error(`no echo of ${text} within ${IO_TIMEOUT_MS} ms (got '${got}')`)); }, IO_TIMEOUT_MS);
    const onData = (d) => {
      got += d.toString();
      if (got.length >= text.length) { cleanupListeners(); got === text ? resolve(performance.now() - t0) : reject(new Error(`echo '${got}'`)); }
    };
    const onEnd = () => { cleanupListeners(); reject(new Error('connection closed')); };
    function cleanupListeners() { clearTimeout(timer); sock.off('data', onData); sock.off('end', onEnd); sock.off('error', onEnd); }
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('error', onEnd);
    sock.write(text);
  });
}

// ---------------------------------------------------------------------------------------------
// helpers

class CheckError extends Error {}
function check(cond, msg) { if (!cond) throw new CheckError(msg); }
function eq(actual, expected, what) {
  check(Object.is(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// The promise must reject with the library's ToxiproxyError naming `status`.
async function rejectsWith(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof ToxiproxyError, `${what}: expected ToxiproxyError, got ${e?.constructor?.name}: ${e?.message}`);
    check(String(e.message).includes(String(status)), `${what}: expected status ${status} in '${e.message}'`);
    return e;
  }
  throw new CheckError(`${what}: expected a rejection with ${status}, it succeeded`);
}

let API = null;
let ECHO_PORT = 0;
let tp = null;
let proxy = null; // the "echo" proxy, created by a case
let toxic = null;

// ---------------------------------------------------------------------------------------------
// cases, in order (later ones use what earlier ones created)

const cases = [
  ['toxiproxy_client_should_read_the_version', async () => {
    const v = await tp.getVersion();
    const j = JSON.parse(v);
    check(typeof j.version === 'string' && j.version.startsWith('2.'), `version answer ${v}`);
  }],
  ['toxiproxy_client_should_create_a_proxy', async () => {
    proxy = await tp.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${ECHO_PORT}` });
    eq(proxy.name, 'echo', 'name');
    eq(proxy.upstream, `127.0.0.1:${ECHO_PORT}`, 'upstream');
    eq(proxy.enabled, true, 'enabled');
    check(/^127\.0\.0\.1:[1-9][0-9]*$/.test(proxy.listen), `listen is the bound address: ${proxy.listen}`);
    const s = await connect(proxy.listen);
    const rtt = await roundTrip(s, 'hello');
    s.destroy();
    check(rtt < 100, `pass-through round trip ${rtt.toFixed(1)} ms`);
  }],
  ['toxiproxy_client_should_list_proxies', async () => {
    const all = await tp.getAll();
    check(all.echo, `getAll() has no 'echo': ${Object.keys(all)}`);
    eq(all.echo.listen, proxy.listen, 'listen');
  }],
  ['toxiproxy_client_should_get_a_proxy', async () => {
    const p = await tp.get('echo');
    eq(p.name, 'echo', 'name');
    eq(p.listen, proxy.listen, 'listen');
    eq(p.upstream, proxy.upstream, 'upstream');
  }],
  ['toxiproxy_client_should_add_a_latency_toxic', async () => {
    toxic = await proxy.addToxic({ name: 'lat', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 150, jitter: 0 } });
    eq(toxic.name, 'lat', 'name');
    eq(toxic.type, 'latency', 'type');
    eq(toxic.stream, 'downstream', 'stream');
    eq(toxic.toxicity, 1, 'toxicity');
    eq(toxic.attributes.latency, 150, 'attributes.latency');
    const s = await connect(proxy.listen);
    const rtt = await roundTrip(s, 'slow');
    s.destroy();
    check(rtt >= 149, `round trip with 150 ms latency took ${rtt.toFixed(1)} ms`);
  }],
  ['toxiproxy_client_should_list_and_get_toxics', async () => {
    const list = (await tp.getApi().get(`${proxy.getPath()}/toxics`)).data;
    check(Array.isArray(list) && list.length === 1, `toxics list ${JSON.stringify(list)}`);
    eq(list[0].name, 'lat', 'listed name');
    const t = await proxy.getToxic('lat');
    eq(t.attributes.latency, 150, 'attributes.latency');
    eq(t.attributes.jitter, 0, 'attributes.jitter');
  }],
  ['toxiproxy_client_should_update_a_toxic', async () => {
    const updated = await toxic.update({ ...toxic.toJson(), attributes: { latency: 40, jitter: 0 } });
    eq(updated.attributes.latency, 40, 'attributes.latency');
    const s = await connect(proxy.listen);
    const rtt = await roundTrip(s, 'faster');
    s.destroy();
    check(rtt >= 39 && rtt < 149, `round trip with 40 ms latency took ${rtt.toFixed(1)} ms`);
    toxic = updated;
  }],
  ['toxiproxy_client_should_remove_a_toxic', async () => {
    await toxic.remove();
    await rejectsWith(proxy.getToxic('lat'), 404, 'getToxic after remove');
    const s = await connect(proxy.listen);
    const rtt = await roundTrip(s, 'quick');
    s.destroy();
    check(rtt < 39, `round trip without toxics took ${rtt.toFixed(1)} ms`);
  }],
  ['toxiproxy_client_should_disable_and_enable_a_proxy', async () => {
    const off = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    eq(off.enabled, false, 'enabled after disable');
    let refused = false;
    try { (await connect(proxy.listen)).destroy(); } catch (e) { refused = e.code === 'ECONNREFUSED'; }
    check(refused, 'a disabled proxy refuses connections');
    const on = await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
    eq(on.enabled, true, 'enabled after enable');
    eq(on.listen, proxy.listen, 'same listen address');
    const s = await connect(proxy.listen);
    await roundTrip(s, 'back');
    s.destroy();
  }],
  ['toxiproxy_client_should_reset', async () => {
    await proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await tp.reset();
    const p = await tp.get('echo');
    eq(p.enabled, true, 'enabled after reset');
    const list = (await tp.getApi().get(`${proxy.getPath()}/toxics`)).data;
    eq(list.length, 0, 'toxics after reset');
  }],
  ['toxiproxy_client_should_populate', async () => {
    const got = await tp.populate([{ name: 'pop', listen: '127.0.0.1:0', upstream: `127.0.0.1:${ECHO_PORT}` }]);
    check(got.pop && got.pop.name === 'pop', `populate answer ${Object.keys(got)}`);
    const s = await connect(got.pop.listen);
    await roundTrip(s, 'populated');
    s.destroy();
    await got.pop.remove();
  }],
  ['toxiproxy_client_should_surface_bad_requests', async () => {
    await rejectsWith(tp.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${ECHO_PORT}` }), 409, 'duplicate proxy');
    await rejectsWith(proxy.addToxic({ type: 'no_such_toxic', attributes: {} }), 400, 'unknown toxic type');
    await rejectsWith(proxy.addToxic({ type: 'latency', attributes: { latency: -1 } }), 400, 'negative latency');
    await rejectsWith(proxy.addToxic({ type: 'latency', stream: 'sideways' }), 400, 'bad stream');
    await rejectsWith(tp.get('nope'), 404, 'unknown proxy');
    // the error body is Toxiproxy's, read raw
    const r = await fetch(`${API}/proxies/echo/toxics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"type":"latency","attributes":{"latency":-1}}' });
    eq(r.status, 400, 'status');
    eq(await r.text(), '{"error":"bad request body: attributes.latency: expected an integer 0..3600000 (ms), got -1","status":400}\n', 'error body');
  }],
  ['toxiproxy_api_should_refuse_what_a_web_page_sends', async () => {
    // fetch's default for a string body is text/plain, what a cross-site page can send
    const body = '{"type":"latency","attributes":{"latency":1}}';
    const r1 = await fetch(`${API}/proxies/echo/toxics`, { method: 'POST', body });
    eq(r1.status, 403, 'text/plain status');
    eq(await r1.text(), '{"error":"admin API: refused POST without Content-Type application/json (got \'text/plain;charset=UTF-8\')","status":403}\n', 'text/plain body');
    const r2 = await fetch(`${API}/proxies/echo/toxics`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body });
    eq(r2.status, 403, 'foreign Origin status');
    eq(await r2.text(), '{"error":"admin API: refused a cross-site request: Origin \'http://evil.example\' is not a loopback origin (see --admin-host)","status":403}\n', 'foreign Origin body');
    const toxics = (await tp.getApi().get(`${proxy.getPath()}/toxics`)).data;
    eq(JSON.stringify(toxics), '[]', 'toxics after the refused calls');
  }],
  ['toxiproxy_client_should_drive_the_drop_extension', async () => {
    const s = await connect(proxy.listen);
    await roundTrip(s, 'before');
    const res = await tp.getApi().post(`${proxy.getPath()}/drop`, { client_port: s.localPort, rst_after_ms: 200 });
    eq(res.data.dropped, true, 'dropped');
    const t0 = performance.now();
    const err = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(new Error('no reset within 3 s')), IO_TIMEOUT_MS);
      s.on('data', () => { clearTimeout(timer); resolve(new Error('data through a dropped connection')); });
      s.on('error', (e) => { clearTimeout(timer); resolve(e); });
      s.write('lost');
    });
    eq(err.code, 'ECONNRESET', 'error code');
    check(performance.now() - t0 >= 195, `reset after ${(performance.now() - t0).toFixed(0)} ms`);
  }],
  ['toxiproxy_client_should_delete_a_proxy', async () => {
    await proxy.remove();
    await rejectsWith(tp.get('echo'), 404, 'get after delete');
    const all = await tp.getAll();
    eq(Object.keys(all).length, 0, 'proxies left');
  }],
];

async function runCase(fn) {
  let timer;
  try {
    await Promise.race([fn(), new Promise((_, rej) => { timer = setTimeout(() => rej(new CheckError(`timed out after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS); })]);
    return null;
  } catch (e) {
    return e instanceof CheckError ? e.message : `${e?.constructor?.name}: ${e?.message}`;
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  try {
    ECHO_PORT = await startEcho();
    API = await startTailgate();
    tp = new Toxiproxy(API);
  } catch (e) {
    console.log(`FAIL toxiproxy_setup ${String(e.message).replace(/\s+/g, ' ')}`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const [name, fn] of cases) {
    const reason = await runCase(fn);
    if (reason === null) { passed++; console.log(`PASS ${name}`); } else { failed++; console.log(`FAIL ${name} ${reason.replace(/\s+/g, ' ')}`); }
  }
  console.log(`toxiproxy: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  if (child && child.exitCode === null) {
    try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
    const t0 = Date.now();
    while (child.exitCode === null && child.signalCode === null && Date.now() - t0 < 2000) await sleep(20);
  }
  cleanup();
}
process.exit(code);
