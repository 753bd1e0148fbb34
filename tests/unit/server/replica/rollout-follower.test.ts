/**
 * server/replica/rollout-follower.ts against a fake primary (a local HTTP server answering GET
 * /api/v1/rollouts as told): what each agent is served, the fail-safe for a tip the primary's
 * rollouts do not name, changes announced, and hostile answers that change nothing.
 * The real primary and replica together: tests/integration/server/replica/rollout-follower.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { RepoConfig } from '../../../../shared/config/repo-config.js';
import type { RolloutState } from '../../../../shared/rollout/rollout-state.js';
import { RolloutFollower } from '../../../../server/replica/rollout-follower.js';

const [C0, C1, C2] = ['0', '1', '2'].map((d) => d.repeat(40)) as [string, string, string];
const quiet = pino({ level: 'silent' });

function running(target: string, previous: string): RolloutState {
  return {
    name: 'main', previous: { commit: previous }, target: { commit: target }, hold: 1, wave: 0, phase: 'running', startedAt: 1, appliedAt: {},
    waves: [{ agents: ['canary-1'], startedAt: 1 }, { agents: ['web-1'] }],
  };
}

/** A fake primary: answers each GET with what `answer` holds now. */
async function fakePrimary(t: TestContext): Promise<{ url: string; answer: { status: number; body: string | Buffer; location?: string }; asked: () => number }> {
  const answer = { status: 200, body: JSON.stringify({ rollouts: [] }) as string | Buffer, location: undefined as string | undefined };
  let asked = 0;
  const server: Server = createServer((req, res) => {
    asked += 1;
    assert.equal(req.url, '/api/v1/rollouts');
    res.writeHead(answer.status, answer.location ? { location: answer.location } : { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, answer, asked: () => asked };
}

/** A fake primary that answers `{rollouts: []}` once `held` resolves (the first question), then at once. */
async function fakeSlowPrimary(t: TestContext, held: Promise<void>): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  const server: Server = createServer((_req, res) => {
    asked += 1;
    void (asked === 1 ? held : Promise.resolve()).then(() => res.end(JSON.stringify({ rollouts: [] })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, asked: () => asked };
}

/** A follower asking `url`; its clock moves a second at each look, so it may always ask again. */
function follower(url: string, declared: boolean, changes: string[] = []): RolloutFollower {
  const config = (declared ? { rollouts: { main: { hold: 1, waves: [] } } } : {}) as unknown as RepoConfig;
  let clock = 0;
  return new RolloutFollower({ primary: url, repoConfig: async () => config, logger: quiet, onChange: (n) => changes.push(n), pollMs: 3_600_000, now: () => (clock += 1000) });
}

test('fake primary, a running rollout: its canary is served the target, everyone else the previous revision; the API shows it', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), beyondHoldMs: 5 }] });
  const f = follower(p.url, true);
  await f.start();
  t.after(() => f.close());
  assert.deepEqual(await f.revisionFor('canary-1', 'refs/heads/main', { commit: C1 }), { commit: C1 });
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C1 }), { commit: C0 });
  assert.deepEqual(await f.revisionFor(undefined, 'main', { commit: C1 }), { commit: C0 });
  assert.deepEqual(f.list().map((r) => [r.name, r.phase]), [['main', 'running']]);
  assert.throws(() => f.get('other'), { code: 'NFTSYNC_ERR_ROLLOUT_NOT_FOUND' });
  assert.throws(() => f.resume('main'), { code: 'NFTSYNC_ERR_READ_ONLY_REPLICA' });
  assert.throws(() => f.abort('main'), { code: 'NFTSYNC_ERR_READ_ONLY_REPLICA' });
});

test('fake primary, a tip it does not name yet: held at the last revision the primary rolled out when the tip declares a rollout, served as is when it declares none', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), phase: 'complete', wave: 2, endedAt: 2 }] });
  const held = follower(p.url, true);
  await held.start();
  t.after(() => held.close());
  const before = p.asked();
  assert.deepEqual(await held.revisionFor('web-1', 'main', { commit: C2 }), { commit: C1 }, 'C2 is ahead of the waves: C1, the last completed');
  assert.equal(p.asked(), before + 1, 'it asked the primary again before answering');
  const free = follower(p.url, false);
  await free.start();
  t.after(() => free.close());
  assert.deepEqual(await free.revisionFor('web-1', 'main', { commit: C2 }), { commit: C2 });
  assert.deepEqual(await free.revisionFor('web-1', 'other', { commit: C2 }), { commit: C2 }, 'a ref with no rollout at all');
});

test('security (fake primary): a declared tip with no rollout of the primary\'s for its ref is not served until an answer asked after the mirror\'s last move: ROLLOUT_UNKNOWN (the primary away since the start)', async (t) => {
  // Before: the tip was served as is, to every agent of the replica, ahead of the canaries
  // (the integration test saw web-1 served A once under load).
  const p = await fakePrimary(t);
  p.answer.status = 503;
  const changes: string[] = [];
  const f = follower(p.url, true, changes);
  await f.start();
  t.after(() => f.close());
  await assert.rejects(f.revisionFor('web-1', 'main', { commit: C1 }), (err: NodeJS.ErrnoException & { data?: Record<string, unknown> }) => {
    assert.equal(err.code, 'NFTSYNC_ERR_ROLLOUT_UNKNOWN');
    assert.match(err.message, new RegExp(`${C1} declares a rollout for "main"`));
    assert.equal(err.data?.commit, C1);
    return true;
  });
  // The primary names main's rollout: served as it says, and the refused are told again.
  p.answer.status = 200;
  p.answer.body = JSON.stringify({ rollouts: [running(C1, C0)] });
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C1 }), { commit: C0 });
  assert.deepEqual(await f.revisionFor('canary-1', 'main', { commit: C1 }), { commit: C1 });
  assert.ok(changes.includes('main'), 'main announced once the primary answered');
});

test('fake primary: a declared tip the primary rolls nothing out for (a new branch\'s first tip: the primary lists only rollouts with waves) is served as is once an answer asked after the move names none; an answer asked before it does not count (review)', async (t) => {
  const p = await fakePrimary(t);
  const changes: string[] = [];
  const f = follower(p.url, true, changes);
  await f.start();
  t.after(() => f.close());
  assert.deepEqual(await f.revisionFor('web-1', 'stage', { commit: C1 }), { commit: C1 }, 'answered after the last move (none yet), naming no rollout for stage');
  assert.deepEqual(await f.revisionFor('web-1', 'track:v*', { commit: C1, tag: 'v1.0.0' }), { commit: C1, tag: 'v1.0.0' }, 'a tracked pattern alike');
  // A question in flight, asked before the mirror moved, is followed by another: its answer alone settles nothing.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow = fakeSlowPrimary(t, held);
  const g = follower((await slow).url, true, changes);
  await Promise.race([g.start(), new Promise((r) => setTimeout(r, 50))]);
  t.after(() => g.close());
  const moved = g.refsChanged();
  release();
  await moved;
  assert.ok((await slow).asked() >= 2, 'asked again after the move');
  assert.deepEqual(await g.revisionFor('web-1', 'stage', { commit: C2 }), { commit: C2 });
});

test('security (fake primary): a tip whose nft-sync.yaml cannot be read counts as declaring a rollout: held at the last revision rolled out, not served', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), phase: 'complete', wave: 2, endedAt: 2 }] });
  let clock = 0;
  const f = new RolloutFollower({ primary: p.url, repoConfig: () => Promise.reject(new Error('object not found')), logger: quiet, pollMs: 3_600_000, now: () => (clock += 1000) });
  await f.start();
  t.after(() => f.close());
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C1 });
});

test('fake primary: a wave served on the primary is announced (onChange) at the next question', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [running(C1, C0)] });
  const changes: string[] = [];
  const f = follower(p.url, true, changes);
  await f.start();
  t.after(() => f.close());
  assert.deepEqual(changes, ['main']);
  await f.refresh();
  assert.deepEqual(changes, ['main'], 'nothing new, nothing announced');
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), wave: 1 }] });
  await f.refsChanged();
  assert.deepEqual(changes, ['main', 'main']);
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C1 }), { commit: C1 });
});

test('fake primary, hostile or broken answers: an error status, bad JSON, a redirect, an endless body and malformed rollouts change nothing the follower knew', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [running(C1, C0)] });
  const f = follower(p.url, true);
  await f.start();
  t.after(() => f.close());
  const web = () => f.revisionFor('web-1', 'main', { commit: C1 });
  const bad: Array<{ status: number; body: string | Buffer; location?: string }> = [
    { status: 500, body: '{}' },
    { status: 200, body: '{"rollouts": [' },
    { status: 302, body: '', location: 'http://198.18.0.99/api/v1/rollouts' },
    { status: 200, body: Buffer.alloc(9 * 1024 * 1024, 0x20) },
  ];
  for (const answer of bad) {
    Object.assign(p.answer, { location: undefined }, answer);
    await f.refresh();
    assert.deepEqual(await web(), { commit: C0 }, `after ${answer.status} ${String(answer.body).slice(0, 20)}`);
    assert.equal(f.list().length, 1);
  }
  // An answer with a malformed rollout is refused whole: what the follower knew is kept.
  Object.assign(p.answer, { status: 200, location: undefined, body: JSON.stringify({ rollouts: [{ ...running(C2, C1), name: 'evil', wave: 99 }, running(C1, C0)] }) });
  await f.refresh();
  assert.deepEqual(f.list().map((r) => r.name), ['main']);
});

test('security (fake primary): an answer with no list of rollouts (rollouts: null, {}, null, a list) is a broken answer: the rollouts known are kept, no tip goes ahead of the waves', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), phase: 'complete', wave: 2, endedAt: 2 }] });
  const f = follower(p.url, true);
  await f.start();
  t.after(() => f.close());
  for (const body of ['{"rollouts": null}', '{}', 'null', '[]', '{"rollouts": {"0": {}}}']) {
    Object.assign(p.answer, { status: 200, body });
    await f.refresh();
    // C2 declares a rollout the primary has not named: held at C1 (it used to go to everyone).
    assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C1 }, `after ${body}`);
    assert.deepEqual(f.list().map((r) => r.name), ['main'], `after ${body}`);
  }
});

test('security (fake primary): a fetch of a tip that declares no rollout does not wait for the primary (a slow one held every such fetch)', async (t) => {
  const p = await fakePrimary(t);
  const f = follower(p.url, false);
  await f.start();
  t.after(() => f.close());
  const before = p.asked();
  for (let i = 0; i < 5; i++) assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C2 });
  assert.equal(p.asked(), before, 'the primary is not asked on the fetch path');
});

test('security (fake primary): a malformed main rollout, or 8 MiB of wave patterns, is refused whole: the rollout known is kept, its declared tip held, and the globs never compiled', async (t) => {
  const p = await fakePrimary(t);
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C1, C0), phase: 'complete', wave: 2, endedAt: 2 }] });
  const f = follower(p.url, true);
  await f.start();
  t.after(() => f.close());
  // Left out, main would be "no rollout", and C2 (declaring one) would go to everyone.
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C2, C1), wave: 99 }] });
  await f.refresh();
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C1 });
  // 200,000 patterns: each agent's first fetch matched them all (a quarter of a second each).
  const waves = Array.from({ length: 2000 }, (_, i) => ({ agents: [], patterns: Array.from({ length: 100 }, () => `[a-z][a-z]*x*y*z*[0-9]?${i}`) }));
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C2, C1), waves, wave: 1999 }] });
  assert.ok(p.answer.body.length < 8 * 1024 * 1024, 'within the answer bound');
  await f.refresh();
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C1 });
  assert.equal(f.get('main').waves.length, 2, 'the rollout known, not the huge one');
  // Within the bound a pattern wave is taken.
  p.answer.body = JSON.stringify({ rollouts: [{ ...running(C2, C1), waves: [{ agents: [], patterns: ['web-*'], startedAt: 1 }], wave: 0 }] });
  await f.refresh();
  assert.deepEqual(await f.revisionFor('web-1', 'main', { commit: C2 }), { commit: C2 });
});
