/**
 * Every git HTTP request runs a `git http-backend` (and an upload-pack or receive-pack under it)
 * for as long as its client keeps it open. Anonymous clients may read, so their number must be
 * capped: past the cap a request is answered 503 NFTSYNC_ERR_SERVER_BUSY at once instead of
 * starting more processes. Reads and authorised pushes have separate slots, so silent readers
 * cannot keep a push out, and a body that stops arriving is dropped. Real fastify on loopback,
 * real git.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { buildHttpApp } from '../../../../server/http/http-app.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { waitUntil } from '../../../helpers/wait-for.js';

const TOKEN = 'push-token-0123456789abcdef';

/** Wait until `cond()` holds, polling; fails after `ms`. */
const until = (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<unknown> => waitUntil(what, cond, ms);

/** Run git without blocking the event loop (the server runs in this process). */
function gitAsync(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', args, { cwd, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8' }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
}

/** Open a POST that announces a body and never sends it; resolves once sent. */
async function stalledUploadPack(port: number, sockets: net.Socket[]): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  sockets.push(s);
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write('POST /git/rules.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 100000\r\n\r\n');
  return s;
}

function backends(): number {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('http-backend')).length;
}

test('past maxReadBackends concurrent git reads, another one gets 503 SERVER_BUSY without a new process; capacity comes back', async (t) => {
  const f = await startServerFixture(t);
  const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger, git: { gitdir: f.bare, maxReadBackends: 2 } });
  const sockets: net.Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  await stalledUploadPack(port, sockets);
  await stalledUploadPack(port, sockets);
  await until('two silent reads holding a git process each', () => backends() === 2);
  const busy = await fetch(`http://127.0.0.1:${port}/git/rules.git/info/refs?service=git-upload-pack`);
  const text = await busy.text();
  assert.equal(busy.status, 503);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_SERVER_BUSY');
  assert.equal(backends(), 2, 'no third http-backend started');
  for (const s of sockets) s.destroy();
  // Capacity comes back once the server has seen them go: a read is served again.
  await until('a read served again', async () => {
    const again = await fetch(`http://127.0.0.1:${port}/git/rules.git/info/refs?service=git-upload-pack`);
    await again.arrayBuffer();
    return again.status === 200;
  });
});

test('40 anonymous upload-pack requests that go silent do not keep out an authorised push (real git client); the 33rd read gets 503', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} ci\n`) });
  const port = f.server.httpAddress!.port;
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) {
    const s = await stalledUploadPack(port, sockets);
    s.on('data', (d: Buffer) => answers.push(d.toString('latin1').split('\r\n')[0]!));
  }
  await until('32 silent reads holding a git process each', () => backends() === 32);
  await until('8 reads answered 503', () => answers.filter((a) => / 503 /.test(a)).length === 8);
  f.commit({ 'notes.txt': 'pushed past silent readers\n' });
  const url = new URL(f.gitUrl!);
  url.username = 'ci';
  url.password = TOKEN;
  const push = await gitAsync(['push', url.href, 'HEAD:main'], f.clone);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), f.git(['rev-parse', 'HEAD']));
  assert.equal(backends(), 32, 'the readers still hold their slots: the push used its own');
});

test('a git request body that stops arriving is dropped after bodyIdleMs, its git process ended, and its slot given back', async (t) => {
  const f = await startServerFixture(t);
  const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger, timeouts: { bodyIdleMs: 500 }, git: { gitdir: f.bare, maxReadBackends: 1 } });
  const sockets: net.Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  const s = await stalledUploadPack(port, sockets);
  s.write('0032want '); // a few bytes, then silence
  s.resume();
  await until('the silent request closed by the server', () => s.readableEnded || s.destroyed);
  await until('its http-backend gone', () => backends() === 0);
  const again = await fetch(`http://127.0.0.1:${port}/git/rules.git/info/refs?service=git-upload-pack`);
  assert.equal(again.status, 200);
  await again.arrayBuffer();
});
