/** agent/drift/drift-compare.ts: the host's managed tables (real nft in a throwaway namespace) against the revision, normalised. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareWithHost } from '../../../../agent/drift/drift-compare.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { createNetns } from '../../../helpers/netns.js';

const revision = {
  nftables: [
    { table: { family: 'inet', name: 'm' } },
    { set: { family: 'inet', table: 'm', name: 'blk', type: 'ipv4_addr', elem: ['198.18.0.1'] } },
    { chain: { family: 'inet', table: 'm', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { rule: { family: 'inet', table: 'm', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { accept: null }] } },
  ],
};
const bytes = Buffer.from(JSON.stringify(revision));
const managed = [{ family: 'inet' as const, name: 'm' }];

test('compareWithHost: nothing when the host has the revision; a rule added, an element (only with elements), a table gone; other tables ignored', async (t) => {
  const ns = createNetns(t, 'dcmp');
  const nft = createNftRunner(ns.nftCommand);
  await nft.applyJson({ nftables: revision.nftables.map((i) => ({ add: i })) });
  ns.nft(['add', 'table', 'ip', 'foreign']);
  assert.deepEqual(await compareWithHost(nft, bytes, managed, { elements: true }), []);
  ns.nft(['add', 'element', 'inet', 'm', 'blk', '{ 198.18.0.2 }']);
  assert.deepEqual(await compareWithHost(nft, bytes, managed, { elements: false }), [], 'elements left out on both sides');
  assert.match((await compareWithHost(nft, bytes, managed, { elements: true })).join('\n'), /set inet m blk: 1 element\(s\) added \("198\.18\.0\.2"\)/);
  ns.nft(['add', 'rule', 'inet', 'm', 'input', 'tcp', 'dport', '4444', 'accept']);
  assert.match((await compareWithHost(nft, bytes, managed, { elements: false })).join('\n'), /rule added in inet m input: .*4444/);
  ns.nft(['delete', 'table', 'inet', 'm']);
  const gone = await compareWithHost(nft, bytes, managed, { elements: false });
  assert.ok(gone.length > 0 && gone.some((d) => /table inet m/.test(d) || /missing|removed/.test(d)), `a missing table is reported: ${gone.join('; ')}`);
  await assert.rejects(compareWithHost(nft, Buffer.from('{"nftables": [{"table": {}}]}'), managed, { elements: false }), { code: 'NFTSYNC_ERR_RULESET_SCHEMA' });
});
