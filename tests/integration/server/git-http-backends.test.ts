/**
 * Every git HTTP request runs a `git http-backend` (and an upload-pack or receive-pack under it)
 * for as long as its client keeps it open. Anonymous clients may read, so their number must be
 * capped: past the cap a request is answered 503 NFTSYNC_ERR_SERVER_BUSY at once instead of
 * starting more processes. Real fastify on loopback, real git.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { buildHttpApp } from '../../../server/http-app.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';

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

test('past maxBackends concurrent git requests, another one gets 503 SERVER_BUSY without a new process; capacity comes back', async (t) => {
  const f = await startServerFixture(t);
  const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger, git: { gitdir: f.bare, maxBackends: 2 } });
  const sockets: net.Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  await stalledUploadPack(port, sockets);
  await stalledUploadPack(port, sockets);
  const t0 = Date.now();
  while (backends() < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(backends(), 2);
  const busy = await fetch(`http://127.0.0.1:${port}/git/rules.git/info/refs?service=git-upload-pack`);
  const text = await busy.text();
  assert.equal(busy.status, 503);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_SERVER_BUSY');
  assert.equal(backends(), 2, 'no third http-backend started');
  for (const s of sockets) s.destroy();
  const t1 = Date.now();
  while (backends() > 0 && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
  const again = await fetch(`http://127.0.0.1:${port}/git/rules.git/info/refs?service=git-upload-pack`);
  assert.equal(again.status, 200);
  await again.arrayBuffer();
});
