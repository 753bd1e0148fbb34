/**
 * agent/drift/big-ruleset-drift.ts on its own, with the real nft in a throwaway namespace and a
 * small set (the class has no threshold: the daemon hands it rulesets above its element
 * threshold, drift-watcher.test.ts covers that path): the listener's events are given as the
 * listener would print them. With self-heal, outside element changes are undone as an element
 * delta (no re-apply) and anything else re-applies; without, element drift is reported and
 * cleared once undone by hand. The reconciler is a fake (named so), the nft is real.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { BigRulesetDrift } from '../../../../agent/drift/big-ruleset-drift.js';
import { summariseRevision } from '../../../../agent/drift/revision-summary.js';
import type { ConfirmedRevision } from '../../../../agent/reconcile/confirm-revision.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import type { TxEvent } from '../../../../shared/wire/listener-line.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger } from '../../../helpers/server-fixture.js';

const RULESET = {
  nftables: [
    { table: { family: 'inet', name: 'nft_sync' } },
    { set: { family: 'inet', table: 'nft_sync', name: 'blocklist', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
  ],
};
const BYTES = Buffer.from(`${JSON.stringify(RULESET)}\n`);
const prev: ConfirmedRevision = { bytes: BYTES, blob: 'b'.repeat(40), ruleset: 'default', commit: 'c'.repeat(40), managedTables: [{ family: 'inet', name: 'nft_sync' }] };
const summary = summariseRevision(prev.blob, BYTES);
/** 198.18.0.9 as the listener prints a key: its bytes in hex. */
const elementEvent = (op: 'add' | 'del'): TxEvent => ({ op, kind: 'element', family: 'inet', table: 'nft_sync', name: 'blocklist', elems: [{ k: 'c6120009' }], count: 1 });

function setup(t: TestContext, selfHeal: boolean) {
  const ns = createNetns(t, 'bigd');
  const nft = createNftRunner(ns.nftCommand);
  const seen = { reports: [] as Array<{ differences: string[]; healed: boolean }>, cleared: 0, reapplies: 0 };
  const reapply = async () => {
    seen.reapplies++;
    ns.nft(['flush', 'ruleset']);
    await nft.applyJson(BYTES);
    return true;
  };
  // A fake reconciler: the revision in force and a re-apply that loads it again with the real nft.
  const fakeReconciler = {
    inForce: prev,
    reapplyInForce: reapply,
    noteDrift: () => {},
    clearDrift: () => true,
    drifted: () => false,
    exclusive: <T>(fn: () => Promise<T>) => fn(),
  };
  const big = new BigRulesetDrift({
    nft,
    reconciler: fakeReconciler as unknown as ConstructorParameters<typeof BigRulesetDrift>[0]['reconciler'],
    logger: quietLogger,
    selfHeal,
    report: (differences, healed) => void seen.reports.push({ differences, healed }),
    cleared: () => void seen.cleared++,
  });
  const elements = () => {
    const set = JSON.parse(ns.nft(['-j', 'list', 'set', 'inet', 'nft_sync', 'blocklist'])).nftables.find((o: { set?: unknown }) => o.set).set as { elem?: string[] };
    return [...(set.elem ?? [])].sort();
  };
  return { ns, nft, big, seen, elements };
}

describe('BigRulesetDrift (real nft in a namespace, fake reconciler)', () => {
  test('self-heal: an element added by hand is deleted again as an element delta, with no re-apply', async (t) => {
    const s = setup(t, true);
    await s.nft.applyJson(BYTES);
    s.ns.nft(['add', 'element', 'inet', 'nft_sync', 'blocklist', '{ 198.18.0.9 }']);
    assert.deepEqual(s.elements(), ['198.18.0.1', '198.18.0.2', '198.18.0.9']);
    await s.big.outside(prev, summary, [elementEvent('add')], false);
    assert.deepEqual(s.elements(), ['198.18.0.1', '198.18.0.2'], 'the added element is gone');
    assert.equal(s.seen.reapplies, 0, 'no re-apply: an element delta');
    assert.equal(s.seen.reports.length, 1);
    assert.equal(s.seen.reports[0]!.healed, true);
    assert.match(s.seen.reports[0]!.differences.join('\n'), /198\.18\.0\.9/);
  });

  test('self-heal: a change it cannot follow element by element (a rule) re-applies the ruleset', async (t) => {
    const s = setup(t, true);
    await s.nft.applyJson(BYTES);
    s.ns.nft(['add', 'chain', 'inet', 'nft_sync', 'extra']);
    await s.big.outside(prev, summary, [{ op: 'add', kind: 'chain', family: 'inet', table: 'nft_sync', name: 'extra' }], false);
    assert.equal(s.seen.reapplies, 1);
    assert.equal(s.seen.reports.length, 1);
    assert.equal(s.seen.reports[0]!.healed, true);
    assert.throws(() => s.ns.nft(['list', 'chain', 'inet', 'nft_sync', 'extra']), 'the chain added by hand is gone');
  });

  test('no self-heal: element drift is reported, left in place, and cleared once undone by hand', async (t) => {
    const s = setup(t, false);
    await s.nft.applyJson(BYTES);
    s.ns.nft(['add', 'element', 'inet', 'nft_sync', 'blocklist', '{ 198.18.0.9 }']);
    await s.big.outside(prev, summary, [elementEvent('add')], false);
    assert.equal(s.seen.reports.length, 1);
    assert.equal(s.seen.reports[0]!.healed, false);
    assert.deepEqual(s.elements(), ['198.18.0.1', '198.18.0.2', '198.18.0.9'], 'left in place');
    s.ns.nft(['delete', 'element', 'inet', 'nft_sync', 'blocklist', '{ 198.18.0.9 }']);
    await s.big.outside(prev, summary, [elementEvent('del')], false);
    assert.equal(s.seen.cleared, 1, 'the drift cleared');
    assert.equal(s.seen.reports.length, 1);
    assert.equal(s.seen.reapplies, 0);
  });
});
