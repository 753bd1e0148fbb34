/**
 * agent/drift/small-ruleset-drift.ts against real nft in a throwaway namespace, with a stand-in
 * reconciler (it re-applies the revision with the same nft and keeps the drift flag; the real
 * one, driven through the daemon, is drift-watcher.test.ts): a difference reported and healed, a
 * heal that changes nothing not repeated without an outside event, a drift left alone with
 * --no-self-heal and its clearing seen, nothing while the reconciler is busy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmallRulesetDrift } from '../../../../agent/drift/small-ruleset-drift.js';
import type { ConfirmedRevision } from '../../../../agent/reconcile/confirm-revision.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger } from '../../../helpers/server-fixture.js';

const items = [
  { table: { family: 'inet', name: 'm' } },
  { chain: { family: 'inet', table: 'm', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
];
const prev: ConfirmedRevision = { bytes: Buffer.from(JSON.stringify({ nftables: items })), blob: 'b'.repeat(40), ruleset: 'default', commit: 'c'.repeat(40), managedTables: [{ family: 'inet', name: 'm' }] };
const handRule = ['add', 'rule', 'inet', 'm', 'input', 'tcp', 'dport', '4444', 'accept'];

function setup(t: Parameters<typeof createNetns>[0], selfHeal: boolean, reapplyWorks = true) {
  const ns = createNetns(t, 'small');
  const nft = createNftRunner(ns.nftCommand);
  const reports: Array<{ differences: string[]; healed: boolean }> = [];
  let cleared = 0;
  let reapplied = 0;
  const reconciler = {
    busy: false,
    inForce: prev as ConfirmedRevision | undefined,
    drifted: false,
    async reapplyInForce() {
      reapplied++;
      if (reapplyWorks) await nft.applyJson({ nftables: [{ delete: { table: { family: 'inet', name: 'm' } } }, ...items.map((i) => ({ add: i }))] });
      return true;
    },
    clearDrift() {
      const was = reconciler.drifted;
      reconciler.drifted = false;
      return was;
    },
  };
  const drift = new SmallRulesetDrift({
    nft, reconciler, logger: quietLogger, selfHeal,
    report: (differences, healed) => {
      reconciler.drifted = !healed;
      reports.push({ differences, healed });
    },
    cleared: () => void cleared++,
  });
  return { ns, nft, drift, reports, reconciler, counts: () => ({ cleared, reapplied }) };
}

test('a rule added by hand: reported with what changed and healed; then nothing to report', async (t) => {
  const s = setup(t, true);
  await s.nft.applyJson({ nftables: items.map((i) => ({ add: i })) });
  assert.deepEqual(await s.drift.compare(prev, false), []);
  s.ns.nft(handRule);
  const diff = await s.drift.compare(prev, true);
  assert.match(String(diff?.join('\n')), /rule added in inet m input: .*4444/);
  assert.deepEqual(s.reports.map((r) => r.healed), [true]);
  assert.doesNotMatch(s.ns.nft(['list', 'table', 'inet', 'm']), /4444/);
  assert.deepEqual(await s.drift.compare(prev, false), []);
  s.reconciler.busy = true;
  s.ns.nft(handRule);
  assert.equal(await s.drift.compare(prev, true), undefined, 'busy: the revision may be changing, nothing is judged');
});

test('a heal that leaves the same differences is not repeated without an outside event (reported unhealed)', async (t) => {
  const s = setup(t, true, false);
  await s.nft.applyJson({ nftables: items.map((i) => ({ add: i })) });
  s.ns.nft(handRule);
  await s.drift.compare(prev, true);
  assert.equal(s.counts().reapplied, 1);
  await s.drift.compare(prev, false);
  assert.equal(s.counts().reapplied, 1, 'not healed again on its own events');
  assert.deepEqual(s.reports.map((r) => r.healed), [true, false]);
  await s.drift.compare(prev, true);
  assert.equal(s.counts().reapplied, 2, 'a person making the change again is healed again');
});

test('--no-self-heal: reported and kept; undone by hand: the drift clears once', async (t) => {
  const s = setup(t, false);
  await s.nft.applyJson({ nftables: items.map((i) => ({ add: i })) });
  s.ns.nft(handRule);
  await s.drift.compare(prev, true);
  assert.deepEqual(s.reports.map((r) => r.healed), [false]);
  assert.equal(s.counts().reapplied, 0);
  assert.match(s.ns.nft(['list', 'table', 'inet', 'm']), /4444/);
  s.ns.nft(['flush', 'chain', 'inet', 'm', 'input']);
  assert.deepEqual(await s.drift.compare(prev, true), []);
  assert.deepEqual(await s.drift.compare(prev, false), []);
  assert.equal(s.counts().cleared, 1);
});
