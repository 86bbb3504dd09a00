// The mock the SDK tests talk to: `tailgate mock` started on a free port of 127.0.0.1, waited
// for through its health check, and killed by its PID on every way out (a normal end, a signal,
// an uncaught exception); and the checks the test files share.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
// An aborted stream's promises (usage, finishReason, a helper's final message) reject with
// nobody waiting: expected, not fatal.
process.on('unhandledRejection', (e) => {
  if (process.env.SDK_TEST_DEBUG) console.error(`(ignored unhandled rejection: ${e?.name}: ${e?.message})`);
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the mock (binary 'bin', its folder named after 'tag'); resolves to its base URL once
// it answers its health check within timeoutMs.
export async function startMock(bin, tag, timeoutMs) {
  if (!existsSync(bin)) throw new Error(`tailgate binary not found at ${bin} (set TAILGATE_BIN)`);
  tmpDir = mkdtempSync(path.join(tmpdir(), `tailgate-${tag}-`));
  const portFile = path.join(tmpDir, 'port');
  let stderr = '';
  child = spawn(bin, ['mock', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { if (stderr.length < 4000) stderr += d; });
  child.on('error', (e) => { stderr += `spawn error: ${e.message}`; });
  const deadline = Date.now() + timeoutMs;
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
  throw new Error(`mock not ready within ${timeoutMs} ms: ${lastErr}; stderr: ${stderr.trim().slice(0, 500)}`);
}

// Stops the mock: SIGTERM, up to 2 s for it to go, then whatever is left.
export async function stopMock() {
  killChild('SIGTERM');
  const t0 = Date.now();
  while (child && child.exitCode === null && child.signalCode === null && Date.now() - t0 < 2000) await sleep(20);
  cleanup();
}

export class CheckError extends Error {}

export function check(cond, msg) { if (!cond) throw new CheckError(msg); }
export function eq(actual, expected, what) {
  check(Object.is(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
