/**
 * `--server A,B`: an agent following two real servers on loopback that serve the same
 * repository, applying with the real nft in a throwaway namespace. When the server in use goes
 * away the agent follows the next within seconds and, since it sends `have`, re-applies nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { pullOnce } from '../../../../agent/pull-once.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { startServer, type RunningServer } from '../../../../server/start-server.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';
import { startTestAgent } from '../../../helpers/test-agent.js';
import { waitFor } from '../../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const applied = (o: ReconcileOutcome) => o.kind === 'applied';

/** A second server on the fixture's own bare repository, on an ephemeral loopback port. */
async function secondServer(t: TestContext, f: ServerFixture): Promise<RunningServer> {
  const s = await startServer({ repo: f.bare, listen: { host: '127.0.0.1', port: 0 }, logger: quietLogger, installHook: false });
  t.after(() => s.close());
  return s;
}

test('the agent fails over to the second server when the first goes away, without re-applying', async (t) => {
  const f = await startServerFixture(t);
  const b = await secondServer(t, f);
  const ns = createNetns(t, 'fover');
  const agent = startTestAgent(t, {
    host: f.host,
    port: f.port,
    servers: [
      { host: f.host, port: f.port },
      { host: '127.0.0.1', port: b.wireAddress.port },
    ],
    nft: ns.nftCommand,
  });
  const first = await agent.next(applied);
  assert.equal(f.server.wire.registry.get('host-1')?.status?.state, 'Applied', 'reports to the first server');
  assert.equal(b.wire.registry.get('host-1'), undefined, 'the second server has not seen it yet');
  const before = ns.nft(['list', 'ruleset']);
  const t0 = performance.now();
  await f.stop();
  // The second server gets its report within seconds, for the commit in force.
  await waitFor(() => b.wire.registry.get('host-1')?.status?.commit === (first.kind === 'applied' && first.commit), { timeoutMs: 5000, what: 'a report to the second server' });
  const ms = performance.now() - t0;
  const after = await agent.next((o) => o.kind === 'unchanged', 5000, true);
  assert.equal(after.commit, first.kind === 'applied' ? first.commit : '');
  assert.equal(agent.outcomes.filter(applied).length, 1, `nothing re-applied: ${JSON.stringify(agent.outcomes.map((o) => o.kind))}`);
  assert.equal(ns.nft(['list', 'ruleset']), before);
  assert.ok(ms < 5000, `failover took ${Math.round(ms)} ms`);
  // It follows the second server from now on: a push reaches it there.
  const id = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'ssh on 2222');
  const next = await agent.next(applied, 5000);
  assert.equal(next.kind === 'applied' && next.commit, id);
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2222 accept/);
  await waitFor(() => b.wire.registry.get('host-1')?.status?.commit === id, { what: 'the new commit reported to the second server' });
});

test('an agent whose first server is down starts on the next one', async (t) => {
  const f = await startServerFixture(t);
  const b = await secondServer(t, f);
  await f.stop();
  const ns = createNetns(t, 'fdown');
  const agent = startTestAgent(t, {
    host: f.host,
    port: f.port,
    servers: [
      { host: f.host, port: f.port },
      { host: '127.0.0.1', port: b.wireAddress.port },
    ],
    nft: ns.nftCommand,
  });
  await agent.next(applied);
  assert.equal(b.wire.registry.get('host-1')?.status?.state, 'Applied');
});

test('pull takes the first server of the list that answers', async (t) => {
  const f = await startServerFixture(t);
  const b = await secondServer(t, f);
  await f.stop();
  const ns = createNetns(t, 'fpull');
  const out = await pullOnce({
    host: f.host,
    port: f.port,
    servers: [
      { host: f.host, port: f.port },
      { host: '127.0.0.1', port: b.wireAddress.port },
    ],
    agent: 'host-1',
    ref: 'main',
    nft: createNftRunner(ns.nftCommand),
    stateDir: makeStateDir(t),
    logger: quietLogger,
    confirmWindowMs: 2000,
  });
  assert.equal(out.kind, 'applied');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);
});
