import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NftCommandBatch } from '../../../../shared/ruleset/apply-plan.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { mergeChunks, planElementChunks } from '../../../../shared/ruleset/set-element-chunks.js';

const addSet = (name: string, elem: unknown[], extra: Record<string, unknown> = {}) => ({ add: { set: { family: 'inet', table: 't', name, type: 'ipv4_addr', ...extra, elem } } });
const ips = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `10.${(i + from) >> 16}.${((i + from) >> 8) & 255}.${(i + from) & 255}`);

describe('planElementChunks', () => {
  test('a set above the chunk size is flushed and copied, same definition, elements in runs', () => {
    const batch: NftCommandBatch = { nftables: [{ add: { table: { family: 'inet', name: 't' } } }, addSet('small', ips(3)), addSet('big', ips(10), { flags: ['timeout'], timeout: 60 })] };
    const plan = planElementChunks(batch, 4);
    assert.deepEqual(plan.chunked, ['inet t big']);
    assert.deepEqual(plan.transaction.nftables[0], { flush: { set: { family: 'inet', table: 't', name: 'big' } } });
    const copies = plan.transaction.nftables.slice(1).map((c) => (c.add as { set: Record<string, unknown> }).set);
    assert.deepEqual(copies.map((c) => [c.name, (c.elem as unknown[]).length, c.timeout, c.flags]), [
      ['big__nftsync_chunk0', 4, 60, ['timeout']],
      ['big__nftsync_chunk1', 4, 60, ['timeout']],
      ['big__nftsync_chunk2', 2, 60, ['timeout']],
    ]);
    assert.deepEqual(copies.flatMap((c) => c.elem as unknown[]), ips(10));
  });

  test('maps are copied as maps; interval, constant and small sets are left to a direct listing', () => {
    const map = { add: { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: ips(5).map((a) => [a, { accept: null }]) } } };
    const batch: NftCommandBatch = { nftables: [map, addSet('iv', ips(9), { flags: ['interval'] }), addSet('k', ips(9), { flags: ['constant'] }), addSet('s', ips(4))] };
    const plan = planElementChunks(batch, 4);
    assert.deepEqual(plan.chunked, ['inet t m']);
    assert.deepEqual(plan.transaction.nftables.map((c) => Object.keys(Object.values(c)[0] as object)[0]), ['map', 'map', 'map']);
  });

  test('an element given twice goes with its first copy, as nft keeps one of them', () => {
    const elem = [...ips(5), '10.0.0.1', { elem: { val: '10.0.0.2', comment: 'again' } }];
    const plan = planElementChunks({ nftables: [addSet('d', elem)] }, 2);
    const copies = plan.transaction.nftables.slice(1).map((c) => (c.add as { set: { elem: unknown[] } }).set.elem);
    assert.deepEqual(copies, [
      ['10.0.0.0', '10.0.0.1', '10.0.0.1'],
      ['10.0.0.2', '10.0.0.3', { elem: { val: '10.0.0.2', comment: 'again' } }],
      ['10.0.0.4'],
    ]);
  });

  test('a set whose name leaves no room for the suffix is not copied; no big set, no transaction', () => {
    assert.deepEqual(planElementChunks({ nftables: [addSet('x'.repeat(250), ips(9))] }, 4), { transaction: { nftables: [] }, chunked: [] });
    assert.deepEqual(planElementChunks({ nftables: [addSet('s', ips(4))] }, 4).transaction.nftables, []);
  });
});

describe('mergeChunks', () => {
  test('gives the copies\' elements back to their set, in copy order, and drops the copies', () => {
    const listing = {
      nftables: [
        { table: { family: 'inet', name: 't' } },
        { set: { family: 'inet', table: 't', name: 'big', type: 'ipv4_addr', handle: 1 } },
        { set: { family: 'inet', table: 't', name: 'big__nftsync_chunk1', type: 'ipv4_addr', elem: ['c', 'd'] } },
        { set: { family: 'inet', table: 't', name: 'big__nftsync_chunk0', type: 'ipv4_addr', elem: ['a', 'b'] } },
        { set: { family: 'inet', table: 'u', name: 'big__nftsync_chunk0', type: 'ipv4_addr', elem: ['other table'] } },
        { chain: { family: 'inet', table: 't', name: 'c' } },
      ],
    } as unknown as Ruleset;
    const merged = mergeChunks(listing, ['inet t big']);
    assert.deepEqual(merged.nftables, [
      listing.nftables[0],
      { set: { family: 'inet', table: 't', name: 'big', type: 'ipv4_addr', handle: 1, elem: ['a', 'b', 'c', 'd'] } },
      listing.nftables[4],
      listing.nftables[5],
    ]);
    assert.equal(mergeChunks(listing, []), listing);
  });
});
