/**
 * cli/pull-interruptibly.ts in a child process (the signals it handles are the process's own):
 * SIGINT and SIGTERM stop a pull waiting for a server that never answers, with the one-line
 * error and exit code 130 or 143; the handlers are gone once it returns; an error other than the
 * interruption is thrown, not turned into an exit code. No root and no nft: nothing reaches nft,
 * so the child gets a fake nft whose every use fails with a code the test would see.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTempDir } from '../../helpers/temp-dir.js';

const MODULE = pathToFileURL(fileURLToPath(new URL('../../../cli/pull-interruptibly.ts', import.meta.url))).href;
const LOGGER = pathToFileURL(fileURLToPath(new URL('../../../cli/logger.ts', import.meta.url))).href;

/** A server that accepts and never answers: the pull waits for its welcome. Closed after the test. */
async function silentServer(t: TestContext): Promise<{ port: number; connected: Promise<void> }> {
  let accepted: () => void = () => {};
  const connected = new Promise<void>((r) => (accepted = r));
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => (sockets.add(socket), socket.on('error', () => {}), accepted()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); });
  return { port: (server.address() as AddressInfo).port, connected };
}

/** Run pullInterruptibly against 127.0.0.1:`port` in a child; it prints what it resolved with, or the error's code, and the SIGINT/SIGTERM listeners left. */
function child(t: TestContext, port: number) {
  const dir = makeTempDir(t, 'nft-sync-pullint-');
  const script = join(dir, 'pull.mts');
  writeFileSync(script, `
import { pullInterruptibly } from ${JSON.stringify(MODULE)};
import { createLogger } from ${JSON.stringify(LOGGER)};
// A fake nft (nothing may reach nft here): any use fails with a code the test would see.
const fakeNft = new Proxy({ argv: ['fake-nft'] }, { get: (o, k) => (k in o ? o[k] : () => Promise.reject(Object.assign(new Error('fake nft run'), { code: 'FAKE_NFT_RUN' }))) });
const left = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
try {
  const out = await pullInterruptibly({ host: '127.0.0.1', port: ${port}, agent: 'h', ref: 'main', nft: fakeNft, stateDir: ${JSON.stringify(join(dir, 'state'))}, logger: createLogger('silent', 'stderr'), confirmWindowMs: 0 });
  process.stdout.write(JSON.stringify({ out, left: left() }) + '\\n');
  process.exitCode = typeof out === 'number' ? out : 0;
} catch (err) {
  process.stdout.write(JSON.stringify({ thrown: err.code, left: left() }) + '\\n');
  process.exitCode = 1;
}
`);
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../../../', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d));
  proc.stderr.on('data', (d: Buffer) => (stderr += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('close', (code, signal) => r({ code, signal })));
  return { proc, closed, out: () => JSON.parse(stdout.trim()) as Record<string, unknown>, stderr: () => stderr };
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} before anything was applied (fake nft, never run): the one-line error, exit code ${code}, the handlers removed`, async (t) => {
    const srv = await silentServer(t);
    const c = child(t, srv.port);
    await Promise.race([srv.connected, c.closed.then(() => assert.fail(`the child ended before connecting: ${c.stderr()}`))]);
    c.proc.kill(signal);
    const end = await c.closed;
    assert.deepEqual(end, { code, signal: null }, c.stderr());
    assert.equal(c.stderr(), `nft-sync: NFTSYNC_ERR_INTERRUPTED: interrupted by ${signal} before anything was applied; nothing was changed\n`);
    assert.deepEqual(c.out(), { out: code, left: 0 });
  });
}

test('(fake nft, never run) an error other than the interruption is thrown, not made an exit code, and the handlers are removed', async (t) => {
  // A port nothing listens on: the connection is refused.
  const closedPort = await new Promise<number>((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => r(p)); });
  });
  const c = child(t, closedPort);
  const end = await c.closed;
  assert.deepEqual(end, { code: 1, signal: null }, c.stderr());
  const out = c.out();
  assert.equal(out.left, 0);
  assert.notEqual(out.thrown, 'NFTSYNC_ERR_INTERRUPTED');
  assert.match(String(out.thrown), /^NFTSYNC_ERR_/);
  assert.equal(c.stderr(), '', 'nothing said about an interruption');
});
