/**
 * A replica never moves an agent back: an agent that applied a commit from the primary and
 * then fails over to a replica whose mirror has not fetched it yet is answered `unchanged` with
 * `behind: true` (it keeps what it has and reports Held, reason ServerBehind), not served the
 * mirror's older revision; it moves once the replica has caught up. Real primary, replica, git and nft
 * in a throwaway namespace; the replica polls the primary only once an hour here and does not
 * listen for its notifications, so it is behind when the primary goes away.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { startServer } from '../../../../server/start-server.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { startTestAgent } from '../../../helpers/test-agent.js';
import { waitFor } from '../../../helpers/wait-for.js';

/** A TCP port free on loopback now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const LOOPBACK = { host: '127.0.0.1', port: 0 };

test('an agent on --server A,B that applied C2 from A is not moved back to C1 by B, whose mirror lags: it reports Held (ServerBehind) and moves when B catches up', { timeout: 120_000 }, async (t) => {
  // A fixed HTTP port, so the primary comes back where the replica looks for it.
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: await freePort() } });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000, notifications: false }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  await waitFor(() => replica.mirror!.polls >= 1, { what: 'the replica\'s first poll (the next is in an hour)' });
  const c1 = await replica.repository.resolveRef('main');
  const ns = createNetns(t, 'behind');
  const agent = startTestAgent(t, {
    host: f.host,
    port: f.port,
    servers: [
      { host: f.host, port: f.port },
      { host: '127.0.0.1', port: replica.wireAddress.port },
    ],
    nft: ns.nftCommand,
  });
  await agent.next((o) => o.kind === 'applied');
  const c2 = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'newer than the replica');
  await agent.next((o) => o.kind === 'applied' && o.commit === c2);
  assert.equal(await replica.repository.resolveRef('main'), c1, 'the replica has not fetched the push');
  const appliedBefore = agent.outcomes.filter((o) => o.kind === 'applied').length;
  // A goes away: the agent fails over to B, which is at C1 and cannot reach A.
  await f.stop();
  const held = await agent.next((o: ReconcileOutcome) => o.kind !== 'applied' || o.commit !== c2, 5000);
  assert.equal(held.kind === 'failed' && held.error.code, 'NFTSYNC_ERR_SERVER_BEHIND', `held: ${JSON.stringify(held)}`);
  assert.equal(agent.outcomes.filter((o) => o.kind === 'applied').length, appliedBefore, 'nothing applied from the replica');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2222 accept/, 'the newer ruleset stays');
  // Its report, on B, says it is held there and why.
  const report = await waitFor(() => {
    const st = replica.wire.registry.get('host-1')?.status;
    return st?.conditions.some((c) => c.type === 'Held') ? st : undefined;
  }, { what: 'the agent reports Held to the replica' });
  assert.equal(report.commit, c2);
  assert.equal(report.state, 'Degraded');
  const condition = report.conditions.find((c) => c.type === 'Held')!;
  assert.equal(condition.reason, 'ServerBehind');
  assert.match(condition.message ?? '', new RegExp(`says it does not have it: commit ${c2}.*held at ${c2}`));
  assert.equal(await replica.repository.resolveRef('main'), c1, 'the replica is still behind (the primary is gone)');
  // A comes back with a newer commit: B, asked again by the held agent, catches up and moves it on.
  await f.restart();
  const c3 = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2323') }, 'after the outage');
  const moved = await agent.next((o) => o.kind === 'applied' && o.commit === c3, 30_000);
  assert.equal(moved.kind, 'applied');
  assert.equal(await replica.repository.resolveRef('main'), c3, 'the replica caught up');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2323 accept/);
  await waitFor(() => {
    const st = replica.wire.registry.get('host-1')?.status;
    return st?.commit === c3 && st.state === 'Applied' && !st.conditions.some((c) => c.type === 'Held');
  }, { what: 'the agent reports Applied to the replica, no longer held' });
});

test('an agent ahead of a replica makes it ask the primary at once, without waiting for its poll', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000, notifications: false }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  await waitFor(() => replica.mirror!.polls >= 1, { what: 'the replica\'s first poll (the next is in an hour)' });
  const id = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'newer than the replica');
  const ns = createNetns(t, 'nudge');
  const onPrimary = startTestAgent(t, { host: f.host, port: f.port, nft: ns.nftCommand });
  await onPrimary.next((o) => o.kind === 'applied' && o.commit === id);
  await onPrimary.stop();
  assert.notEqual(await replica.repository.resolveRef('main'), id, 'the replica has not fetched the push');
  // The same host (same state) now on the replica only.
  const onReplica = startTestAgent(t, { host: '127.0.0.1', port: replica.wireAddress.port, nft: ns.nftCommand, stateDir: onPrimary.stateDir });
  const held = await onReplica.next();
  assert.equal(held.kind === 'failed' && held.error.code, 'NFTSYNC_ERR_SERVER_BEHIND', JSON.stringify(held));
  await waitFor(async () => (await replica.repository.resolveRef('main')) === id, { what: 'the replica fetched on the agent\'s report, not on its hourly poll' });
  assert.equal(onReplica.outcomes.filter((o) => o.kind === 'applied').length, 0);
});
