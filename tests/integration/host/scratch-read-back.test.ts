/** host/scratch-read-back.ts: what a load left in a scratch namespace, read back with big sets whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listRulesetConsistently, readBackScratch } from '../../../host/scratch-read-back.js';
import { createNftRunner } from '../../../host/nft-runner.js';
import { createNetns } from '../../helpers/netns.js';

test('readBackScratch: the listing after a load, a big set read back through chunks with every element; listRulesetConsistently: one consistent listing', async (t) => {
  const ns = createNetns(t, 'rdback');
  const nft = createNftRunner(ns.nftCommand);
  const elems: string[] = [];
  for (let i = 0; i < 30_000; i++) elems.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const batch = { nftables: [{ add: { table: { family: 'inet', name: 'rb' } } }, { add: { set: { family: 'inet', table: 'rb', name: 'big', type: 'ipv4_addr', elem: elems } } }, { add: { set: { family: 'inet', table: 'rb', name: 'small', type: 'ipv4_addr', elem: ['198.18.0.1'] } } }] };
  await nft.applyJson(batch);
  const r = await readBackScratch(nft, batch as never);
  assert.deepEqual(r.unverified, []);
  const sets = new Map<string, unknown[]>();
  for (const item of r.listing.nftables as Array<{ set?: { name: string; elem?: unknown[] } }>) if (item.set) sets.set(item.set.name, item.set.elem ?? []);
  assert.deepEqual([...sets.keys()].sort(), ['big', 'small'], 'the chunks are merged back into their set');
  assert.equal(sets.get('big')!.length, 30_000);
  assert.deepEqual(sets.get('small'), ['198.18.0.1']);
  const plain = await listRulesetConsistently(createNftRunner(ns.nftCommand));
  assert.deepEqual(plain.unverified, []);
  assert.ok((plain.listing.nftables as Array<{ table?: { name: string } }>).some((i) => i.table?.name === 'rb'));
});
