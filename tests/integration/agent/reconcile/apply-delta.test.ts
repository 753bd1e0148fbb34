/**
 * applyRuleset from a revision in force (`inForce`): the minimal transaction against the real
 * nft 1.0.6, each test in its own throwaway namespace. Handles are the witness that an object
 * was left alone: the full replacement re-creates every object of its tables with new handles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRuleset } from '../../../../agent/reconcile/apply-ruleset.js';
import { createNftRunner, type NftRunner } from '../../../../host/nft-runner.js';
import { parseRuleset, type Ruleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { createNetns } from '../../../helpers/netns.js';

const at = { family: 'inet', table: 'dl' };
const saddr = { payload: { protocol: 'ip', field: 'saddr' } };

function revision(blocked: string[], extraRule: boolean): Ruleset {
  return parseRuleset(
    JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'dl' } },
        { chain: { ...at, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        { chain: { ...at, name: 'output', type: 'filter', hook: 'output', prio: 0, policy: 'accept' } },
        { set: { ...at, name: 'blk', type: 'ipv4_addr', elem: blocked } },
        { rule: { ...at, chain: 'input', expr: [{ match: { op: '==', left: saddr, right: '@blk' } }, { drop: null }] } },
        { rule: { ...at, chain: 'output', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 25 } }, { drop: null }] } },
        ...(extraRule ? [{ rule: { ...at, chain: 'output', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 465 } }, { drop: null }] } }] : []),
      ],
    }),
  );
}

/** The real runner, counting the listings made through it. */
function countingLists(nft: NftRunner): { nft: NftRunner; lists: () => number } {
  let n = 0;
  return {
    nft: { ...nft, listTable: (...a) => (n++, nft.listTable(...a)), listTables: () => (n++, nft.listTables()) },
    lists: () => n,
  };
}

test('from a known revision only the change is sent: an untouched chain keeps its rule handles', async (t) => {
  const ns = createNetns(t, 'dlt');
  const nft = createNftRunner(ns.nftCommand);
  const a = revision(['198.18.0.1', '198.18.0.2'], false);
  const first = await applyRuleset({ nft, ruleset: a, verify: 'full' });
  const inputBefore = ns.nft(['-a', 'list', 'chain', 'inet', 'dl', 'input']);
  const b = revision(['198.18.0.2', '198.18.0.3'], true);
  const res = await applyRuleset({ nft, ruleset: b, previouslyManaged: first.managedTables, inForce: a, verify: 'full' });
  assert.equal(res.transaction.kind, 'delta', res.transaction.reason);
  assert.deepEqual(res.readback.differences, []);
  assert.equal(res.readback.mode, 'full');
  assert.equal(ns.nft(['-a', 'list', 'chain', 'inet', 'dl', 'input']), inputBefore, 'the unchanged chain was not re-created');
  assert.match(ns.nft(['list', 'set', 'inet', 'dl', 'blk']), /198\.18\.0\.2, 198\.18\.0\.3|198\.18\.0\.3, 198\.18\.0\.2/);
  assert.match(ns.nft(['list', 'chain', 'inet', 'dl', 'output']), /dport 25 drop[\s\S]*dport 465 drop/);
});

test('a 1,000-element change to a big set is applied as a delta and confirmed without any listing', async (t) => {
  const ns = createNetns(t, 'dlb');
  const real = createNftRunner(ns.nftCommand);
  const unique = Array.from({ length: 30_500 }, (_, i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  const a = revision(unique.slice(0, 30_000), false);
  const b = revision(unique.slice(500, 30_500), false);
  const first = await applyRuleset({ nft: real, ruleset: a, verify: 'off' });
  const { nft, lists } = countingLists(real);
  const res = await applyRuleset({ nft, ruleset: b, previouslyManaged: first.managedTables, inForce: a });
  assert.equal(res.transaction.kind, 'delta', res.transaction.reason);
  assert.match(res.transaction.reason, /\+500\/-500 elements/);
  assert.equal(res.readback.mode, 'off');
  assert.equal(lists(), 0, 'no nft listing after the delta');
  const get = (addr: string): boolean => {
    try {
      ns.nft(['get', 'element', 'inet', 'dl', 'blk', `{ ${addr} }`]);
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(get(unique[0]!), false, 'a deleted element is gone');
  assert.equal(get(unique[30_499]!), true, 'an added element is in force');
});

test('a delta nft refuses (the host changed underneath) falls back to the full replacement', async (t) => {
  const ns = createNetns(t, 'dlf');
  const nft = createNftRunner(ns.nftCommand);
  // Enough elements that a two-element change is a delta, not a refill of the set.
  const many = Array.from({ length: 200 }, (_, i) => `198.18.1.${i}`);
  const a = revision(['198.18.0.1', '198.18.0.2', ...many], false);
  const first = await applyRuleset({ nft, ruleset: a });
  ns.nft(['delete', 'element', 'inet', 'dl', 'blk', '{ 198.18.0.1 }']);
  const b = revision(['198.18.0.2', '198.18.0.3', ...many], false);
  const res = await applyRuleset({ nft, ruleset: b, previouslyManaged: first.managedTables, inForce: a, verify: 'full' });
  assert.equal(res.transaction.kind, 'full');
  assert.match(res.transaction.deltaRefused ?? '', /No such file or directory|does not exist/);
  assert.deepEqual(res.readback.differences, []);
});

test('a batch started before the plan (early) stands only as the plan\'s own: one that is not is followed by the full replacement, and one nft refused by it too', async (t) => {
  const { applyTransaction } = await import('../../../../agent/reconcile/apply-ruleset.js');
  const { planMinimalTransaction } = await import('../../../../shared/ruleset/minimal-transaction.js');
  const ns = createNetns(t, 'dle');
  const nft = createNftRunner(ns.nftCommand);
  // Twenty addresses from 198.18.0.`from`: a change of one or two is patched in place, not refilled.
  const blocked = (from: number): Ruleset => revision(Array.from({ length: 20 }, (_, i) => `198.18.0.${from + i}`), false);
  const a = blocked(10);
  const first = await applyRuleset({ nft, ruleset: a, verify: 'full' });
  const owned = first.managedTables;
  const start = (batch: object) => {
    const json = JSON.stringify(batch);
    return { batch: json, done: nft.applyJson(json).then(() => undefined, (e: unknown) => e as import('../../../../shared/errors.js').NftSyncError) };
  };
  const blk = () => ns.nft(['list', 'set', 'inet', 'dl', 'blk']);
  const holds = (from: number): void => {
    const listed = (JSON.parse(ns.nft(['-j', 'list', 'set', 'inet', 'dl', 'blk'])) as { nftables: Array<{ set?: { elem?: string[] } }> }).nftables.find((i) => i.set)!.set!.elem!;
    assert.deepEqual([...listed].sort(), Array.from({ length: 20 }, (_, i) => `198.18.0.${from + i}`).sort());
  };

  // The plan's own batch: it stands, no second nft run.
  const b = blocked(11);
  const ownBatch = planMinimalTransaction(a, b, owned).batch;
  assert.deepEqual(ownBatch.nftables.map((c) => Object.keys(c)[0]), ['delete', 'add'], 'a patch in place');
  const own = await applyTransaction({ nft, ruleset: b, previouslyManaged: owned, inForce: a, started: start(ownBatch) });
  assert.deepEqual([own.transaction.kind, own.transaction.early], ['delta', true], own.transaction.reason);
  holds(11);

  // Another batch (a stray element added): the full replacement follows, and the host is c exactly.
  const c = blocked(12);
  const stray = { nftables: [{ add: { element: { ...at, name: 'blk', elem: ['198.18.0.99'] } } }] };
  const other = await applyTransaction({ nft, ruleset: c, previouslyManaged: owned, inForce: b, started: start(stray) });
  assert.equal(other.transaction.kind, 'full');
  assert.match(other.transaction.reason, /not the plan's/);
  holds(12);

  // The plan's batch, refused by nft (the host lacks the element it deletes): the full replacement follows.
  ns.nft(['delete', 'element', 'inet', 'dl', 'blk', '{ 198.18.0.12 }']);
  const d = blocked(13);
  const refused = await applyTransaction({ nft, ruleset: d, previouslyManaged: owned, inForce: c, started: start(planMinimalTransaction(c, d, owned).batch) });
  assert.equal(refused.transaction.kind, 'full', JSON.stringify(refused.transaction) + blk());
  assert.ok(refused.transaction.deltaRefused, 'nft\'s refusal is kept');
  holds(13);
});
