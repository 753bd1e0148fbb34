/**
 * The HTTP listener's time limits over real sockets: headers, a whole API request, idle
 * keep-alive connections; and a large push that keeps sending, slower than every one of those
 * limits, still goes through (real git client, through a throttling proxy on loopback).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const LIMITS = { headersMs: 500, requestMs: 500, keepAliveMs: 500, bodyIdleMs: 1500, idleMs: 5_000 };

/** A raw connection to `port`; everything it receives is collected; destroyed after the test. */
async function connect(t: TestContext, port: number): Promise<{ s: net.Socket; got: () => string; closed: Promise<number> }> {
  const s = net.connect({ host: '127.0.0.1', port });
  t.after(() => s.destroy());
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  s.on('error', () => undefined);
  const t0 = Date.now();
  const closed = new Promise<number>((r) => s.once('close', () => r(Date.now() - t0)));
  await new Promise<void>((r) => s.once('connect', () => r()));
  return { s, got: () => got, closed };
}

/** `p`, or a failure naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('headers that never finish, an API body that never finishes, and an idle kept-alive connection are closed', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, httpTimeouts: LIMITS });
  const port = f.server.httpAddress!.port;

  const headers = await connect(t, port);
  headers.s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  await within(headers.closed, 10_000, 'the half-sent headers to be dropped');
  assert.match(headers.got(), /^HTTP\/1\.1 408 /);

  const body = await connect(t, port);
  body.s.write(`POST /api/v1/rollback HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"branch":`);
  const bodyTicker = setInterval(() => body.s.writable && body.s.write(' '), 100); // alive, but never whole
  t.after(() => clearInterval(bodyTicker));
  await within(body.closed, 10_000, 'the unfinished API request to be dropped');
  clearInterval(bodyTicker);
  assert.match(body.got(), /^HTTP\/1\.1 408 /);
  assert.match(body.got(), /"code":"NFTSYNC_ERR_PROTO_TIMEOUT"/);

  const idle = await connect(t, port);
  idle.s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const ms = await within(idle.closed, 10_000, 'the idle kept-alive connection to be closed');
  assert.match(idle.got(), /^HTTP\/1\.1 200 /);
  assert.ok(ms >= LIMITS.keepAliveMs - 50, `closed after ${ms} ms`);
});

/** A TCP proxy to `target` that passes client bytes on at most `bytes` every `everyMs`. */
async function throttlingProxy(t: TestContext, target: number, bytes: number, everyMs: number): Promise<{ port: number; uploaded: () => number }> {
  let uploaded = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    const queue: Buffer[] = [];
    let ended = false;
    const tick = setInterval(() => {
      let budget = bytes;
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const part = head.subarray(0, budget);
        upstream.write(part);
        uploaded += part.length;
        budget -= part.length;
        if (part.length === head.length) queue.shift();
        else queue[0] = head.subarray(part.length);
      }
      if (queue.length === 0 && ended) upstream.end();
      // Hold the client back while the queue is long: the throttle is real backpressure.
      if (queue.length < 4) client.resume();
    }, everyMs);
    client.on('data', (d: Buffer) => {
      queue.push(d);
      if (queue.length >= 4) client.pause();
    });
    client.on('end', () => (ended = true));
    upstream.pipe(client);
    const stop = (): void => {
      clearInterval(tick);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', stop);
    upstream.on('close', stop);
    client.on('error', stop);
    upstream.on('error', stop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, uploaded: () => uploaded };
}

test('a large push that keeps sending is not cut, though it takes longer than the request and idle-body limits', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, httpTimeouts: LIMITS });
  const proxy = await throttlingProxy(t, f.server.httpAddress!.port, 64 * 1024, 100);
  writeFileSync(join(f.clone, 'big.bin'), randomBytes(2 * 1024 * 1024)); // incompressible: about 2 MiB of pack
  f.commit({ 'notes.txt': 'big\n' });
  const started = Date.now();
  const push = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('git', ['-c', 'http.postBuffer=65536', 'push', `http://127.0.0.1:${proxy.port}/git/rules.git`, 'HEAD:main'], { cwd: f.clone, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8' }, (err, _o, stderr) =>
      resolve({ code: err ? 1 : 0, stderr }),
    ),
  );
  const took = Date.now() - started;
  assert.equal(push.code, 0, push.stderr);
  assert.ok(took > LIMITS.requestMs && took > LIMITS.bodyIdleMs, `the push took ${took} ms: longer than every limit, so the test shows something`);
  assert.ok(proxy.uploaded() > 2 * 1024 * 1024);
  assert.equal(f.git(['rev-parse', 'main:big.bin'], f.bare), f.git(['rev-parse', 'HEAD:big.bin']));
});
