/**
 * The read-back step's contract with a fake nft: whatever it finds is data (ok, differences,
 * error), never an exception, since the transaction has happened by then.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { applyTransaction } from '../../../../agent/reconcile/apply-ruleset.js';
import { readBack, resolveMode, AUTO_FULL_MAX_ELEMENTS } from '../../../../agent/reconcile/read-back.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { fakeNft } from '../../../helpers/fake-nft-runner.js';

const ruleset = parseRuleset(readFileSync('repo-template/rulesets/default.json'));

test('fake nft: a listing equal to the revision reads back ok', async () => {
  const nft = fakeNft();
  await applyTransaction({ nft, ruleset });
  const r = await readBack(nft, ruleset, 'full');
  assert.deepEqual({ ok: r.ok, mode: r.mode, differences: r.differences, error: r.error }, { ok: true, mode: 'full', differences: [], error: undefined });
});

test('fake nft: a listing that differs is a result with READBACK_MISMATCH and the differences', async () => {
  const nft = fakeNft();
  await applyTransaction({ nft, ruleset });
  nft.alterListing = (doc) => ({ nftables: doc.nftables.slice(0, -1) });
  const r = await readBack(nft, ruleset, 'auto');
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
  assert.ok(r.differences.length > 0);
  assert.deepEqual(r.error?.data?.differences, r.differences);
  assert.deepEqual(r.error?.data?.managedTables, [{ family: 'inet', name: 'nft_sync' }]);
});

test('fake nft: a listing that fails or times out is a result too, keeping its code', async () => {
  const nft = fakeNft();
  await applyTransaction({ nft, ruleset });
  nft.fail.listTable = new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'slow');
  const r = await readBack(nft, ruleset, 'structure');
  assert.equal(r.ok, false);
  assert.equal(r.mode, 'structure');
  assert.equal(r.error?.code, 'NFTSYNC_ERR_NFT_TIMEOUT');
  assert.match(r.error!.message, /applied but could not be read back/);
});

test('read-back off lists nothing; auto is off above AUTO_FULL_MAX_ELEMENTS set elements', async () => {
  const nft = fakeNft();
  nft.fail.listTable = new NftSyncError('NFTSYNC_ERR_NFT_LIST', 'must not list');
  assert.equal((await readBack(nft, ruleset, 'off')).ok, true);
  assert.equal(resolveMode('auto', ruleset), 'full');
  const big = { nftables: [{ set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem: Array.from({ length: AUTO_FULL_MAX_ELEMENTS + 1 }, (_, i) => `198.18.${i >> 8 & 255}.${i & 255}`) } }] } as unknown as typeof ruleset;
  assert.equal(resolveMode('auto', big), 'off');
});
