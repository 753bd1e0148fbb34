/**
 * Security: a replica (`--mirror-of`) talking to a hostile primary, or to something that answers
 * at the primary's address. Fake primaries on loopback: an HTTP server in this process that
 * misbehaves where asked and passes the rest to a real primary. What must hold: the replica's
 * loops stay paced, it reads bounded answers, it talks to no other origin than `--mirror-of`
 * (never sending its token elsewhere), and a git fetch that never ends is stopped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { NftSyncError } from '../../../../shared/errors.js';
import { GitMirror } from '../../../../server/replica/git-mirror.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const TOKEN = 'mirror-secret-token';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | void;

/**
 * An HTTP server on loopback: `handle` answers what it wants to (returns true); the rest goes
 * to `upstream` (a real primary) when given, else 404. Closed after the test.
 */
async function fakePrimary(t: TestContext, handle: Handler, upstream?: string): Promise<{ origin: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    if (handle(req, res) === true) return;
    if (!upstream) {
      res.writeHead(404).end();
      return;
    }
    const u = new URL(upstream);
    const fwd = http.request({ host: u.hostname, port: u.port, path: req.url, method: req.method, headers: { ...req.headers, host: u.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-hostile-primary-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('security (fake primary): a long poll answered at once, again and again, is paced; the replica does not spin', { timeout: 30_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  let polls = 0;
  const fake = await fakePrimary(t, (req, res) => {
    if (!req.url?.startsWith('/api/v1/refs/changes')) return false;
    polls += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: `v-${polls}` }));
    return true;
  }, new URL(f.gitUrl!).origin);
  const mirror = await GitMirror.open({ url: `${fake.origin}${new URL(f.gitUrl!).pathname}`, gitdir: join(scratch(t), 'mirror.git'), logger: quietLogger, pollMs: 3_600_000 });
  t.after(() => mirror.stop());
  mirror.start();
  await new Promise((r) => setTimeout(r, 2000));
  await mirror.stop();
  t.diagnostic(`long polls in 2 s: ${polls}, fetches: ${mirror.fetches}, ref polls: ${mirror.polls}`);
  assert.ok(polls <= 12, `at most a few long polls a second, got ${polls} in 2 s`);
  assert.ok(mirror.polls <= 12, `the nudges it makes are paced too, got ${mirror.polls} polls of info/refs`);
});

test('security (fake primary): an endless long-poll answer is dropped after a few KiB, not buffered', { timeout: 30_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  let sent = 0;
  let closedAfter: number | undefined;
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const fake = await fakePrimary(t, (req, res) => {
    if (!req.url?.startsWith('/api/v1/refs/changes')) return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"version":"');
    const pump = () => {
      // At most 256 MiB in all, so a replica without the bound cannot take the machine down.
      while (sent < 256 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) break;
      }
      if (sent >= 256 * 1024 * 1024) res.end('"}');
    };
    res.on('drain', pump);
    res.on('close', () => (closedAfter ??= sent));
    pump();
    return true;
  }, new URL(f.gitUrl!).origin);
  const mirror = await GitMirror.open({ url: `${fake.origin}${new URL(f.gitUrl!).pathname}`, gitdir: join(scratch(t), 'mirror.git'), logger: quietLogger, pollMs: 3_600_000 });
  t.after(() => mirror.stop());
  mirror.start();
  await waitFor(() => closedAfter !== undefined, { what: 'the replica to drop the answer', timeoutMs: 20_000 });
  t.diagnostic(`bytes sent before the replica closed: ${closedAfter}`);
  assert.ok(closedAfter! < 16 * 1024 * 1024, `the replica read ${closedAfter} bytes of a long-poll answer`);
});

test('security (fake primary): a redirect to another origin is not followed, and the token never goes there', { timeout: 30_000 }, async (t) => {
  const seen: string[] = [];
  const elsewhere = await fakePrimary(t, (req, res) => {
    seen.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? '-'}`);
    res.writeHead(404).end();
    return true;
  });
  const fake = await fakePrimary(t, (req, res) => {
    res.writeHead(302, { location: `${elsewhere.origin}${req.url}` }).end();
    return true;
  });
  const dir = scratch(t);
  await assert.rejects(
    GitMirror.open({ url: `${fake.origin}/git/rules.git`, gitdir: join(dir, 'mirror.git'), token: TOKEN, logger: quietLogger }),
    (err: NftSyncError) => {
      assert.ok(err instanceof NftSyncError);
      assert.equal(err.code, 'NFTSYNC_ERR_REPO_GIT_FAILED');
      assert.match(err.message, /redirect/);
      return true;
    },
  );
  assert.deepEqual(seen, [], 'nothing reached the other origin');
});

test('security (fake primary): a git clone that never ends is stopped at its time limit', { timeout: 60_000 }, async (t) => {
  const hanging: http.ServerResponse[] = [];
  const fake = await fakePrimary(t, (req, res) => {
    // git's requests hang forever; the replica's own info/refs poll is answered 404.
    if (!/^git\//.test(req.headers['user-agent'] ?? '')) return false;
    hanging.push(res);
    return true;
  });
  const url = `${fake.origin}/git/rules.git`;
  const t0 = performance.now();
  // 5 s: time for git to start and reach the fake primary on a loaded machine (hanging.length).
  await assert.rejects(GitMirror.open({ url, gitdir: join(scratch(t), 'mirror.git'), logger: quietLogger, fetchTimeoutMs: 5000 }), (err: NftSyncError) => {
    assert.equal(err.code, 'NFTSYNC_ERR_REPO_GIT_FAILED');
    assert.match(err.message, /stopped/);
    return true;
  });
  const took = performance.now() - t0;
  t.diagnostic(`clone stopped after ${Math.round(took)} ms`);
  // Generous for a loaded machine (the limit is 5 s): without the limit it never ends.
  assert.ok(took < 15_000, `stopped after ${Math.round(took)} ms`);
  assert.ok(hanging.length >= 1, 'git did reach the fake primary');
  // 15 s: git's remote helper, left waiting on the socket, gives up when curl's low-speed limit
  // (as long as the time limit, 5 s) runs out.
  await waitFor(() => !execFileSync('ps', ['-eo', 'args']).toString().includes(url), { what: 'no git process left for the hanging URL', timeoutMs: 15_000 });
});

test('security (fake primary): stopping a replica whose git fetch hangs ends that fetch at once', { timeout: 30_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  let hang = false;
  const hanging: http.ServerResponse[] = [];
  const fake = await fakePrimary(t, (req, res) => {
    if (!hang || !/^git\//.test(req.headers['user-agent'] ?? '')) return false;
    hanging.push(res);
    return true;
  }, new URL(f.gitUrl!).origin);
  const url = `${fake.origin}${new URL(f.gitUrl!).pathname}`;
  const mirror = await GitMirror.open({ url, gitdir: join(scratch(t), 'mirror.git'), logger: quietLogger, pollMs: 3_600_000, notifications: false });
  mirror.start();
  await waitFor(() => mirror.polls >= 1, { what: 'the first poll' });
  hang = true;
  f.push({ 'notes.txt': 'moved\n' }, 'a push the replica will try to fetch');
  mirror.nudge();
  await waitFor(() => hanging.length >= 1, { what: 'git hanging on the fake primary' });
  const t0 = performance.now();
  await mirror.stop();
  const took = performance.now() - t0;
  t.diagnostic(`stop took ${Math.round(took)} ms`);
  assert.ok(took < 10_000, `stop waited ${Math.round(took)} ms for a fetch that never ends`);
  // git itself is ended; its remote helper ends when the primary drops it or at the low-speed limit.
  await waitFor(() => !/^git .*fetch/m.test(execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(url) || l.includes('fetch -q --prune origin')).join('\n')), { what: 'no git fetch left' });
});
