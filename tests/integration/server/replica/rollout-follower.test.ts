/**
 * Staged rollouts across a primary and its replica: the primary's rollout, counting the whole
 * fleet, governs the replica's agents too. Real primary and replica (server --mirror-of), real
 * git pushes, and real wire connections named as agents (protocol clients standing in for
 * agents: they report what a real agent reports, with no nft).
 *
 * Without the follower, the replica ran rollouts of its own over its own agents only: with no
 * canary among them, its first wave was empty and its agents got the revision at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { startServer } from '../../../../server/start-server.js';
import type { AgentStatus } from '../../../../shared/wire/messages.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const CONFIG = 'rollouts:\n  main:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n';

function applied(name: string, commit: string): AgentStatus {
  return { agent: name, ref: 'main', commit, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] };
}
function rolledBack(name: string, kept: string, attempted: string): AgentStatus {
  return { agent: name, ref: 'main', commit: kept, attemptedCommit: attempted, state: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off' }] };
}

async function connect(t: TestContext, port: number, name: string): Promise<{ client: WireClient; moved: string[] }> {
  const client = await WireClient.connect({ host: '127.0.0.1', port, agent: name });
  t.after(() => client.close());
  const moved: string[] = [];
  client.on('moved', (_ref, commit) => moved.push(commit));
  await client.subscribe('main');
  return { client, moved };
}

const served = async (c: WireClient): Promise<string> => (await c.fetch({ ref: 'main' })).commit;

/**
 * What `c` is served once the replica knows the primary's rollout: until it does, a declared tip
 * is refused with NFTSYNC_ERR_ROLLOUT_UNKNOWN (agents ask again), never served (15 s cap).
 */
async function servedOnceKnown(c: WireClient): Promise<string> {
  for (const until = performance.now() + 15_000; ; await new Promise((r) => setTimeout(r, 100))) {
    try {
      return await served(c);
    } catch (err) {
      if ((err as { code?: string }).code !== 'NFTSYNC_ERR_ROLLOUT_UNKNOWN' || performance.now() > until) throw err;
    }
  }
}

test('a replica serves its agents what the primary\'s rollout says: held until the canaries on the primary confirm, held for good when one rolls back; resume and abort are refused there', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, http: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  const c0 = f.git(['rev-parse', 'HEAD']);
  const canary = await connect(t, f.port, 'canary-1');
  const web = await connect(t, replica.wireAddress.port, 'web-1');
  await canary.client.report(applied('canary-1', c0));
  await web.client.report(applied('web-1', c0));
  // The primary knows web-1 (forwarded) before the rollout starts, so it lands in wave 2.
  await waitFor(async () => {
    const { agents } = (await (await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/agents`)).json()) as { agents: Array<{ name: string; via?: string }> };
    return agents.some((a) => a.name === 'web-1' && a.via !== undefined) ? true : undefined;
  }, { what: 'web-1 forwarded to the primary' });

  // 1. The rollouts config arrives: its own rollout, canary first.
  const a = f.push({ 'nft-sync.yaml': CONFIG }, 'rollouts');
  await waitFor(() => (canary.moved.includes(a) ? true : undefined), { what: 'the canary told of A' });
  // The replica holds A (mirrored) but serves web-1 the previous revision.
  await waitFor(async () => ((await replica.repository.resolveRef('main')) === a ? true : undefined), { what: 'the mirror at A' });
  assert.equal(await servedOnceKnown(web.client), c0, 'web-1 stays on c0 while the canary has not confirmed');
  const onReplica = (await (await fetch(`http://127.0.0.1:${replica.httpAddress!.port}/api/v1/rollouts/main`)).json()) as { phase: string; wave: number; waves: Array<{ agents: string[] }> };
  assert.equal(onReplica.phase, 'running', 'the replica\'s API shows the primary\'s rollout');
  assert.deepEqual(onReplica.waves.map((w) => w.agents), [['canary-1'], ['web-1']]);
  for (const verb of ['resume', 'abort']) {
    const res = await fetch(`http://127.0.0.1:${replica.httpAddress!.port}/api/v1/rollouts/main/${verb}`, { method: 'POST' });
    assert.equal(res.status, 403, verb);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_READ_ONLY_REPLICA');
  }

  // 2. The canary confirms: after the hold, web-1 (on the replica) is told of A and served it.
  await canary.client.report(applied('canary-1', a));
  await waitFor(() => (web.moved.includes(a) ? true : undefined), { what: 'web-1 told of A through the replica', timeoutMs: 10_000 });
  assert.equal(await served(web.client), a);
  await web.client.report(applied('web-1', a));
  await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/rollouts/main`)).json()) as { phase: string }).phase === 'complete' ? true : undefined, { what: 'A complete on the primary', timeoutMs: 10_000 });

  // 3. B locks the canary out: it rolls back, the rollout halts, and web-1 never hears of B.
  const b = f.push({ 'rulesets/default.json': f.git(['show', 'HEAD:rulesets/default.json']).replace(/"right": 22\b/, '"right": 2222') }, 'B');
  await waitFor(() => (canary.moved.includes(b) ? true : undefined), { what: 'the canary told of B' });
  await waitFor(async () => ((await replica.repository.resolveRef('main')) === b ? true : undefined), { what: 'the mirror at B' });
  await canary.client.report(rolledBack('canary-1', a, b));
  await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/rollouts/main`)).json()) as { phase: string }).phase === 'halted' ? true : undefined, { what: 'halted on the primary' });
  await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${replica.httpAddress!.port}/api/v1/rollouts/main`)).json()) as { phase: string }).phase === 'halted' ? true : undefined, { what: 'halted as the replica sees it' });
  const now = await served(web.client);
  assert.equal(now, a, `web-1 stays on A (served ${now === b ? 'B' : now === c0 ? 'c0' : now})`);
  assert.equal(web.moved.includes(b), false, 'web-1 never heard of B');
});

test('a replica serves a new branch whose first tip declares a rollout, as the primary does (nothing to roll out from), and a tracked tag pattern alike (review)', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, http: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  const config = 'rollouts:\n  stage:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n  tags:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n';
  const s = f.commit({ 'nft-sync.yaml': config }, 'stage with rollouts');
  f.git(['push', '-q', 'origin', 'HEAD:stage']);
  f.git(['tag', 'v1.0.0']);
  f.git(['push', '-q', 'origin', 'v1.0.0']);
  await waitFor(async () => ((await replica.repository.resolveRef('stage').catch(() => undefined)) === s ? true : undefined), { what: 'the mirror at stage', timeoutMs: 15_000 });
  const web = await WireClient.connect({ host: '127.0.0.1', port: replica.wireAddress.port, agent: 'web-1' });
  t.after(() => web.close());
  // Refused for a moment at most (an answer asked before the mirror's move does not count), then served.
  const once = async (req: { ref: string; track?: boolean }): Promise<string | undefined> => {
    try {
      return (await web.fetch(req)).commit;
    } catch (err) {
      if ((err as { code?: string }).code === 'NFTSYNC_ERR_ROLLOUT_UNKNOWN') return undefined;
      throw err;
    }
  };
  await waitFor(() => once({ ref: 'stage' }), { what: 'stage served on the replica', timeoutMs: 10_000 });
  assert.equal(await once({ ref: 'stage' }), s);
  assert.equal(await waitFor(() => once({ ref: 'v*', track: true }), { what: 'v* served on the replica', timeoutMs: 10_000 }), s);
});
