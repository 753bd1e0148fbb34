/**
 * A replica never moves an agent back: an agent that applied a commit from the primary and
 * then fails over to a replica whose mirror has not fetched it yet is answered `unchanged` (it
 * keeps what it has), not served the mirror's older revision. Real primary, replica, git and nft
 * in a throwaway namespace; the replica polls the primary only once an hour here and does not
 * listen for its notifications, so it is behind when the primary goes away.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { startServer } from '../../../../server/start-server.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { startTestAgent } from '../../../helpers/test-agent.js';
import { waitFor } from '../../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const LOOPBACK = { host: '127.0.0.1', port: 0 };

test('an agent ahead of a replica keeps its revision there instead of being moved back', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000, notifications: false }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  await waitFor(() => replica.mirror!.polls >= 1, { what: 'the replica\'s first poll (the next is in an hour)' });
  const old = await replica.repository.resolveRef('main');
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
  const id = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'newer than the replica');
  await agent.next((o) => o.kind === 'applied' && o.commit === id);
  assert.equal(await replica.repository.resolveRef('main'), old, 'the replica has not fetched the push');
  const appliedBefore = agent.outcomes.filter((o) => o.kind === 'applied').length;
  await f.stop();
  const held = await agent.next((o: ReconcileOutcome) => o.kind !== 'applied' || o.commit !== id, 5000);
  assert.equal(held.kind, 'unchanged', `held: ${JSON.stringify(held)}`);
  assert.equal(held.kind === 'unchanged' && held.commit, id);
  assert.equal(agent.outcomes.filter((o) => o.kind === 'applied').length, appliedBefore, 'nothing applied from the replica');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2222 accept/, 'the newer ruleset stays');
  await waitFor(() => replica.wire.registry.get('host-1')?.status?.commit === id, { what: 'the agent reports its commit to the replica' });
  assert.equal(await replica.repository.resolveRef('main'), old, 'the replica is still behind (the primary is gone)');
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
  assert.equal(held.kind === 'unchanged' && held.commit, id);
  await waitFor(async () => (await replica.repository.resolveRef('main')) === id, { what: 'the replica fetched on the agent\'s report, not on its hourly poll' });
  assert.equal(onReplica.outcomes.filter((o) => o.kind === 'applied').length, 0);
});
