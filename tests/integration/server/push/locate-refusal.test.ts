/**
 * locateRefusal against the real nft 1.0.6 in a throwaway namespace: where nft's message does
 * not say, dry runs of parts of the ruleset find the culprit in about log2 runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { buildApplyTransaction } from '../../../../shared/ruleset/apply-plan.js';
import { NftSyncError } from '../../../../shared/errors.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { locateRefusal } from '../../../../server/push/locate-refusal.js';
import { bigAddressList } from '../../../helpers/big-set.js';
import { createNetns } from '../../../helpers/netns.js';

const T = { family: 'inet', table: 't' };
const dport = (right: unknown) => ({ rule: { ...T, chain: 'c', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right } }, { accept: null }] } });

async function stderrOf(nft: ReturnType<typeof createNftRunner>, ruleset: Ruleset): Promise<string> {
  try {
    await nft.applyJson(JSON.stringify(buildApplyTransaction(ruleset, [])));
  } catch (err) {
    return String((err as NftSyncError).data?.stderr);
  }
  assert.fail('nft accepted the ruleset');
}

describe('locateRefusal', () => {
  test('one bad rule among 2,000: found in at most 1 + log2(n) dry runs, nothing left behind', async (t) => {
    const ns = createNetns(t, 'loc');
    const nft = createNftRunner(ns.nftCommand);
    const items: unknown[] = [{ table: { family: 'inet', name: 't' } }, { chain: { ...T, name: 'c' } }];
    for (let i = 0; i < 2_000; i++) items.push(dport(i === 1234 ? 'no-such-service' : 1000 + i));
    const ruleset = { nftables: items } as Ruleset;
    const stderr = await stderrOf(nft, ruleset);
    assert.match(stderr, /Could not resolve service/);
    const at = await locateRefusal(nft, ruleset, stderr);
    assert.deepEqual([at?.pointer, at?.what, at?.how], ['/nftables/1236', 'rule 1235 of chain inet t c', 'bisect']);
    assert.ok(at!.runs <= 1 + Math.ceil(Math.log2(items.length)), `${at!.runs} dry runs`);
    assert.equal(ns.nft(['list', 'ruleset']).trim(), '', 'dry runs only');
  });

  test('one bad element in a 50,000-element set: the structure loads empty, then the element is found', { timeout: 300_000 }, async (t) => {
    const ns = createNetns(t, 'loc');
    const nft = createNftRunner(ns.nftCommand);
    const elem: string[] = bigAddressList(50_000, 5);
    elem[31_337] = '192.0.2.300';
    const ruleset = {
      nftables: [
        { table: { family: 'inet', name: 't' } },
        { set: { ...T, name: 'ok', type: 'ipv4_addr', elem: ['192.0.2.1'] } },
        { set: { ...T, name: 'big', type: 'ipv4_addr', elem } },
        { chain: { ...T, name: 'c' } },
        { rule: { ...T, chain: 'c', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@big' } }, { drop: null }] } },
      ],
    } as Ruleset;
    const at = await locateRefusal(nft, ruleset, await stderrOf(nft, ruleset));
    assert.deepEqual([at?.pointer, at?.what], ['/nftables/2/set/elem/31337', 'element 31338 of set inet t big']);
    assert.ok(at!.runs <= 2 + Math.ceil(Math.log2(elem.length)), `${at!.runs} dry runs`);
  });

  test('nft\'s own index needs no dry run', async (t) => {
    const nft = createNftRunner(createNetns(t, 'loc').nftCommand);
    const ruleset = { nftables: [{ table: { family: 'inet', name: 't' } }, { chain: { ...T, name: 'c' } }, { rule: { ...T, chain: 'c', expr: [{ bogus: 1 }] } }] } as Ruleset;
    const at = await locateRefusal(nft, ruleset, await stderrOf(nft, ruleset));
    assert.deepEqual([at?.pointer, at?.how, at?.runs], ['/nftables/2/rule/expr/0', 'nft', 0]);
  });
});
