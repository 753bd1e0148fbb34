/**
 * Stopping the server (what SIGTERM does) must finish even when an HTTP client holds a request
 * open and sends nothing: in-flight requests get a grace period, then their connections are
 * closed and their git http-backend processes stopped. Real server, git and sockets on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { startServerFixture } from '../../helpers/server-fixture.js';
import { waitUntil } from '../../helpers/wait-for.js';

/** Pids of `git http-backend` processes that are children of this process. */
function backends(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).trim();
  return out === '' ? [] : out.split('\n').filter((l) => l.includes('http-backend')).map((l) => Number.parseInt(l.trim(), 10));
}

test('close() ends within its grace period while a push request is stalled mid-body, and stops its http-backend', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, shutdownGraceMs: 500 });
  const port = f.server.httpAddress!.port;
  const s = net.connect({ host: '127.0.0.1', port });
  t.after(() => s.destroy());
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  // A push that announces a body and never sends it: http-backend waits on its stdin.
  s.write('POST /git/rules.git/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: 100000\r\n\r\n0000');
  await waitUntil('the stalled push to run git http-backend', () => backends().length === 1);
  const closing = f.stop().then(() => 'closed');
  const result = await Promise.race([closing, new Promise((r) => setTimeout(() => r('still waiting'), 5000))]);
  assert.equal(result, 'closed', 'close() resolved');
  await waitUntil('no git http-backend left running', () => backends().length === 0, 3000);
});
