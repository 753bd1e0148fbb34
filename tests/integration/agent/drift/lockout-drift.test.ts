/**
 * Commit-confirmed and drift, in process: a real server on loopback, real nft in a throwaway
 * namespace. The server here is in the root namespace, so a ruleset in the agent's namespace
 * cannot really cut it off: the lockout tests aim the confirm probe at a closed port instead
 * (a real refused connection; the name of each such test says so). tests/e2e/lockout-veth.test.ts
 * does it for real across a veth pair.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { wireProbe } from '../../../../agent/reconcile/confirm-revision.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { Reconciler, type ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { loadState, saveState } from '../../../../agent/state/state-store.js';
import { freePort } from '../../../helpers/cli-process.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';
import { waitUntil } from '../../../helpers/wait-for.js';
import { startTestAgent, type TestAgent } from '../../../helpers/test-agent.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (port: number): string => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);


function startAgent(
  t: TestContext,
  f: ServerFixture,
  ns: Netns,
  dir: string,
  extra: { probePort?: () => number; selfHeal?: boolean } = {},
): TestAgent {
  const probePort = extra.probePort ?? (() => f.port);
  const agent = startTestAgent(t, {
    host: f.host,
    port: f.port,
    nft: ns.nftCommand,
    stateDir: dir,
    // 3 s: a probe that succeeds must not miss the window on a loaded machine (the server shares
    // this process); a window that must fail (a probe aimed at a closed port) takes 3 s to end.
    confirm: { windowMs: 3000, probe: (ms) => wireProbe({ host: f.host, port: probePort() })(ms) },
    selfHeal: extra.selfHeal,
  });
  // In place, not a copy: the counters (listening, cleared) are updated on this object.
  // 15 s: an apply, a confirm window (3 s), a rollback, on a loaded machine.
  const next = agent.next;
  agent.next = (pred, timeoutMs = 15_000) => next(pred, timeoutMs);
  return agent;
}

const applied = (o: ReconcileOutcome) => o.kind === 'applied';

describe('commit-confirmed', () => {
  test('an unconfirmed revision is rolled back, reported RolledBack, not retried; a newer one applies (probe aimed at a closed port stands in for a lockout)', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'confirm');
    const closed = await freePort();
    let blocked = false;
    // The 3 s window of every test here: the good revisions of this one must be confirmed in it too.
    const agent = startAgent(t, f, ns, makeStateDir(t), { probePort: () => (blocked ? closed : f.port) });
    await agent.next(applied);
    const before = ns.nft(['list', 'table', 'inet', 'nft_sync']);
    blocked = true;
    const bad = f.push({ 'rulesets/default.json': withPort(2222) }, 'locks out (pretend)');
    const o = await agent.next((x) => x.kind === 'failed');
    assert.equal(o.kind === 'failed' && o.error.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
    assert.equal(ns.nft(['list', 'table', 'inet', 'nft_sync']), before, 'the previous ruleset is back');
    await waitUntil('RolledBack at the server', () => f.server.wire.registry.get('host-1')?.status?.conditions[0]?.reason === 'RolledBack');
    const st = f.server.wire.registry.get('host-1')!.status!;
    assert.equal(st.attemptedCommit, bad);
    assert.notEqual(st.commit, bad);
    // The same revision is not tried again, even when the server can be reached again.
    blocked = false;
    const good = f.push({ 'rulesets/default.json': withPort(2223) }, 'fixed');
    const ok = await agent.next(applied);
    assert.equal(ok.kind === 'applied' && ok.commit, good);
    assert.ok(!agent.outcomes.some((x) => x.kind === 'applied' && x.commit === bad));
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2223 accept/);
  });

  test('a revision left unconfirmed by a crash is replaced by the confirmed one on restart', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'crash');
    const dir = makeStateDir(t);
    const nft = createNftRunner(ns.nftCommand);
    const opts = { agent: 'host-1', ref: 'main', nft, stateDir: dir, logger: quietLogger };
    const { WireClient } = await import('../../../../agent/wire/wire-client.js');
    const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
    t.after(() => client.close());
    const r1 = await Reconciler.open(opts);
    assert.equal((await r1.reconcile(client)).kind, 'applied');
    const confirmed = ns.nft(['list', 'table', 'inet', 'nft_sync']);
    // What a kill -9 inside the window leaves: the pending mark, and the new tables in force.
    const loaded = (await loadState(dir))!;
    ns.nft(['add', 'table', 'ip', 'only_new']);
    ns.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '9', 'accept']);
    const pending = { commit: 'e'.repeat(40), blob: 'f'.repeat(40), ruleset: 'default', managedTables: [...loaded.state.managedTables, { family: 'ip' as const, name: 'only_new' }], startedAt: 'x' };
    await saveState(dir, { ...loaded.state, pending }, loaded.applied);
    const r2 = await Reconciler.open(opts);
    assert.equal(await r2.recoverInterrupted(), true);
    assert.equal(ns.nft(['list', 'table', 'inet', 'nft_sync']), confirmed);
    assert.doesNotMatch(ns.nft(['list', 'tables']), /only_new/);
    const after = (await loadState(dir))!.state;
    assert.equal(after.pending, undefined);
    assert.deepEqual(after.interrupted, { blob: 'f'.repeat(40), count: 1 });
  });
});

describe('drift', () => {
  const handRule = ['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '4444', 'accept'];

  test('a rule added by hand is reported with what changed and removed, by the event listener (self-heal on)', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'heal');
    const agent = startAgent(t, f, ns, makeStateDir(t));
    await agent.next(applied);
    const want = ns.nft(['list', 'table', 'inet', 'nft_sync']);
    // The event instead of a guessed 400 ms: the drift listener is listening. Its events carry
    // PIDs, so the agent's own apply is told apart without a grace period.
    await waitUntil('the drift listener', () => agent.listening > 0);
    ns.nft(handRule);
    // 10 s caps a wait whose every poll runs nft (blocking) on a loaded machine; still well under
    // the 60 s periodic check (drift.intervalS), so only the event listener can explain the heal.
    const t0 = performance.now();
    await waitUntil('self-heal', () => ns.nft(['list', 'table', 'inet', 'nft_sync']) === want, 10_000);
    const ms = Math.round(performance.now() - t0);
    await waitUntil('drift report', () => agent.drifts.length > 0);
    assert.match(agent.drifts[0]!.differences.join('\n'), /rule added in inet nft_sync input: .*4444/);
    assert.equal(agent.drifts[0]!.healed, true);
    await waitUntil('Drifted condition at the server', () => f.server.wire.registry.get('host-1')?.status?.conditions.some((c) => c.type === 'Drifted' && c.reason === 'Healed') === true);
    t.diagnostic(`healed in ${ms} ms`);
    // The same change made again is healed again (the heal's own events carry the agent's PIDs).
    ns.nft(handRule);
    const t1 = performance.now();
    await waitUntil('second self-heal', () => agent.drifts.length > 1 && ns.nft(['list', 'table', 'inet', 'nft_sync']) === want, 10_000);
    t.diagnostic(`healed again in ${Math.round(performance.now() - t1)} ms`);
    assert.equal(agent.drifts[1]!.healed, true);
  });

  test('with --no-self-heal a drift is reported (Degraded, reason Drifted) and kept; a foreign table is left alone and not reported', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'drift');
    const agent = startAgent(t, f, ns, makeStateDir(t), { selfHeal: false });
    await agent.next(applied);
    await waitUntil('the drift listener', () => agent.listening > 0);
    ns.nft(['add', 'table', 'ip', 'foreign']);
    ns.nft(['add', 'chain', 'ip', 'foreign', 'c', '{ type filter hook input priority -1; policy accept; }']);
    ns.nft(['add', 'rule', 'ip', 'foreign', 'c', 'tcp', 'dport', '1', 'drop']);
    // The hand rule is the sentinel: its events come after the foreign table's, so a drift the
    // foreign table caused would be reported first.
    ns.nft(handRule);
    await waitUntil('drift report', () => agent.drifts.length > 0);
    assert.equal(agent.drifts.length, 1, 'a foreign table is not drift');
    assert.doesNotMatch(agent.drifts[0]!.differences.join('\n'), /foreign/);
    assert.match(agent.drifts[0]!.differences.join('\n'), /4444/);
    assert.match(ns.nft(['list', 'table', 'ip', 'foreign']), /tcp dport 1 drop/);
    assert.equal(agent.drifts[0]!.healed, false);
    await waitUntil('Drifted at the server', () => {
      const st = f.server.wire.registry.get('host-1')?.status;
      return st?.state === 'Degraded' && st.conditions[0]?.reason === 'Drifted';
    });
    // Reported after the drift was handled: without self-heal the change is still there.
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 4444 accept/, 'kept');
  });

  test('above the element threshold, an element added by hand is reported from the event stream and healed', async (t) => {
    const f = await startServerFixture(t);
    const elems: string[] = [];
    for (let i = 0; i < 25_000; i++) elems.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const big = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'nft_sync' } },
        { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem: elems } },
      ],
    });
    f.push({ 'rulesets/default.json': big }, 'big set');
    const ns = createNetns(t, 'bigset');
    const agent = startAgent(t, f, ns, makeStateDir(t));
    await agent.next(applied, 20_000);
    // The event instead of a guessed 400 ms: the drift listener is listening.
    await waitUntil('the drift listener', () => agent.listening > 0);
    ns.nft(['add', 'element', 'inet', 'nft_sync', 'blk', '{ 192.0.2.7 }']);
    await waitUntil('drift report', () => agent.drifts.length > 0, 10_000);
    assert.match(agent.drifts[0]!.differences.join('\n'), /element "192\.0\.2\.7" added to set inet nft_sync blk/);
    assert.equal(agent.drifts[0]!.healed, true);
    assert.doesNotMatch(ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']), /192\.0\.2\.7/);
  });

  test('a drift listener process that dies is restarted, and drift is still caught', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'monmon');
    const agent = startAgent(t, f, ns, makeStateDir(t));
    await agent.next(applied);
    const monitors = () =>
      execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' })
        .split('\n')
        .filter((p) => p && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('nft-events.py'));
    const [first] = await (async () => {
      await waitUntil('a listener', () => monitors().length === 1);
      return monitors();
    })();
    await waitUntil('the first listener listening', () => agent.listening > 0);
    const readyBefore = agent.listening;
    process.kill(Number(first), 'SIGKILL');
    await waitUntil('a new listener', () => monitors().length === 1 && monitors()[0] !== first, 10_000);
    const want = ns.nft(['list', 'table', 'inet', 'nft_sync']);
    await waitUntil('the new listener listening', () => agent.listening > readyBefore);
    ns.nft(handRule);
    // 10 s, as above: well under the 60 s periodic check, so the new listener caught it.
    const t0 = performance.now();
    await waitUntil('self-heal after the restart', () => agent.drifts.length > 0 && ns.nft(['list', 'table', 'inet', 'nft_sync']) === want, 10_000);
    t.diagnostic(`healed in ${Math.round(performance.now() - t0)} ms after the restart`);
  });
});
