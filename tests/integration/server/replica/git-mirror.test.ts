/**
 * A read-only replica (`--mirror-of`) on loopback: it mirrors a real primary over git smart HTTP,
 * follows a real `git push` to the primary, serves it to an agent applying with the real nft in
 * a throwaway namespace, and refuses pushes and API writes, naming the primary.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import type { NftSyncError } from '../../../../shared/errors.js';
import { startServer, type RunningServer } from '../../../../server/start-server.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { startTestAgent } from '../../../helpers/test-agent.js';
import { waitFor } from '../../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const applied = (o: ReconcileOutcome) => o.kind === 'applied';
const LOOPBACK = { host: '127.0.0.1', port: 0 };

async function startReplica(t: TestContext, f: ServerFixture): Promise<RunningServer> {
  const r = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, http: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => r.close());
  return r;
}

/** `git ARGS` in `cwd`; resolves with the exit code and stderr (never rejects). */
function gitRun(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0' } }, (err, _out, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
}

test('a replica mirrors the primary, follows a git push to it and serves it to its agents', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startReplica(t, f);
  const main = f.git(['rev-parse', 'HEAD']);
  assert.equal(await replica.repository.resolveRef('main'), main, 'the mirror holds the primary\'s main at start');
  const ns = createNetns(t, 'replica');
  const agent = startTestAgent(t, { host: '127.0.0.1', port: replica.wireAddress.port, nft: ns.nftCommand });
  const first = await agent.next(applied);
  assert.equal(first.kind === 'applied' && first.commit, main);
  // A real push over HTTP to the primary.
  const id = f.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'ssh on 2222');
  const t0 = performance.now();
  const pushed = await gitRun(['push', '-q', f.gitUrl!, 'HEAD:main'], f.clone);
  assert.equal(pushed.code, 0, pushed.stderr);
  const next = await agent.next((o) => o.kind === 'applied' && o.commit === id, 15_000);
  t.diagnostic(`push to applied through the replica: ${Math.round(performance.now() - t0)} ms`);
  assert.equal(next.kind, 'applied');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2222 accept/);
  assert.equal(replica.wire.registry.get('host-1')?.status?.commit, id, 'the agent reports to the replica');
});

test('a replica refuses a git push, API writes and published changes, naming the primary', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startReplica(t, f);
  const replicaGit = `http://127.0.0.1:${replica.httpAddress!.port}/git/rules.git`;
  const before = await replica.repository.resolveRef('main');
  f.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2200') }, 'to the replica');
  const pushed = await gitRun(['push', '-q', replicaGit, 'HEAD:main'], f.clone);
  assert.notEqual(pushed.code, 0);
  assert.match(pushed.stderr, /NFTSYNC_ERR_READ_ONLY_REPLICA/);
  assert.ok(pushed.stderr.includes(f.gitUrl!), `the refusal names the primary: ${pushed.stderr}`);
  assert.equal(await replica.repository.resolveRef('main'), before, 'the mirror is unchanged');
  assert.equal(await f.server.repository.resolveRef('main'), before, 'nor is the primary');
  // An API write: refused before anything else is looked at.
  const res = await fetch(`http://127.0.0.1:${replica.httpAddress!.port}/api/v1/rollback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ branch: 'main', to: before }) });
  assert.equal(res.status, 403);
  const body = (await res.json()) as { error: { code: string; data: { primary: string } } };
  assert.equal(body.error.code, 'NFTSYNC_ERR_READ_ONLY_REPLICA');
  assert.equal(body.error.data.primary, f.gitUrl);
  // A live change published over the wire (agent --publish): refused too, naming the primary.
  const client = await WireClient.connect({ host: '127.0.0.1', port: replica.wireAddress.port, agent: 'host-1' });
  t.after(() => client.close());
  await assert.rejects(client.publish({ ref: 'main', ruleset: 'default', base: before, bytes: Buffer.from(DEFAULT) }), (e: NftSyncError) => e.code === 'NFTSYNC_ERR_READ_ONLY_REPLICA' && e.message.includes(f.gitUrl!));
  // Reads still work: a clone from the replica.
  const cloned = await gitRun(['clone', '-q', replicaGit, join(f.dir, 'from-replica')], f.dir);
  assert.equal(cloned.code, 0, cloned.stderr);
});

test('a replica started on an existing mirror catches up with the primary', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const r1 = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  await r1.close();
  const id = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2201') }, 'while the replica was down');
  const r2 = await startReplica(t, f);
  assert.equal(await r2.repository.resolveRef('main'), id);
  await waitFor(() => r2.mirror !== undefined && r2.mirror.fetches >= 1, { what: 'the fetch at start' });
});

test('the primary tells a replica of a push (GET /api/v1/refs/changes): it fetches without waiting for its poll', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000 }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  await waitFor(() => replica.mirror!.polls >= 1, { what: 'the replica\'s first poll (the next is in an hour)' });
  const id = f.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2223') }, 'told');
  const pushed = await gitRun(['push', '-q', f.gitUrl!, 'HEAD:main'], f.clone);
  assert.equal(pushed.code, 0, pushed.stderr);
  await waitFor(async () => (await replica.repository.resolveRef('main')) === id, { what: 'the push on the replica, although its poll is an hour away' });
  // A replica's long poll held at the primary does not hold the primary's shutdown.
  const t0 = performance.now();
  await f.stop();
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `the primary took ${Math.round(ms)} ms to stop with a long poll held (its grace is 10 s)`);
});

test("a replica's /readyz and /metrics say how its mirror follows the primary; a primary away leaves it ready, with the lag growing", { timeout: 60_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startReplica(t, f);
  const base = `http://127.0.0.1:${replica.httpAddress!.port}`;
  const ready = async () => {
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    return (await res.json()) as { status: string; replica?: { primary: string; primaryReachable: boolean; syncedAt?: string; lagSeconds?: number } };
  };
  const first = await ready();
  assert.equal(first.status, 'ready');
  assert.equal(first.replica?.primary, f.gitUrl);
  assert.equal(first.replica?.primaryReachable, true);
  // The lag counts from the last sync, which a loaded machine may leave a few seconds behind: it
  // comes down once the replica's polls (every 250 ms) catch up. 30 s caps a wait that would hang.
  const caughtUp = await waitFor(async () => {
    const r = await ready();
    return r.replica?.lagSeconds !== undefined && r.replica.lagSeconds < 2 ? r : undefined;
  }, { what: 'the lag under 2 s', timeoutMs: 30_000 });
  t.diagnostic(`lag ${first.replica?.lagSeconds} s at the first /readyz, ${caughtUp.replica?.lagSeconds} s when under 2 s`);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^nftsync_replica_primary_reachable 1$/m);
  assert.match(metrics, /^nftsync_replica_synced_timestamp_seconds \d{10}$/m);
  assert.match(metrics, /^nftsync_replica_fetches_total \d+$/m);
  const primary = (await (await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/readyz`)).json()) as { replica?: unknown };
  assert.equal(primary.replica, undefined, 'a primary has no replica object');
  assert.doesNotMatch(await (await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/metrics`)).text(), /nftsync_replica_/);
  await f.stop();
  const away = await waitFor(async () => {
    const r = await ready();
    return r.replica?.primaryReachable === false ? r : undefined;
  }, { what: 'the replica to notice the primary is away', timeoutMs: 15_000 });
  assert.equal(away.status, 'ready', 'still ready: it serves its mirror');
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^nftsync_replica_primary_reachable 0$/m);
  await new Promise((r) => setTimeout(r, 1200));
  assert.ok((await ready()).replica!.lagSeconds! >= 1, 'the lag grows while the primary is away');
});
