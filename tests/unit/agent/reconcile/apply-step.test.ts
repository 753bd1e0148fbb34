/** The apply step with a fake nft: the pending mark before the transaction, and what a refusal or a timeout leaves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyStep } from '../../../../agent/reconcile/apply-step.js';
import type { Plan } from '../../../../agent/reconcile/plan-step.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { DEFAULT_BYTES, fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

const C1 = '1'.repeat(40);
const table = { family: 'inet' as const, name: 'nft_sync' };
const plan: Plan = { fetched: fetchedRuleset(C1), ruleset: parseRuleset(DEFAULT_BYTES), owned: [], newTables: [table] };

test('fake nft: the pending mark is saved before the transaction, which then commits', async () => {
  const pass = testPass();
  let markedBeforeApply = false;
  const applyJson = pass.nft.applyJson;
  pass.nft.applyJson = async (json) => ((markedBeforeApply = pass.state()?.pending?.commit === C1), applyJson(json));
  const out = await applyStep(pass, plan);
  assert.equal(out.kind, 'next');
  assert.ok(markedBeforeApply);
  assert.deepEqual(pass.saves[0]!.state.pending, { commit: C1, blob: plan.fetched.blob, ruleset: 'default', managedTables: [table], startedAt: '2026-01-01T00:00:00.000Z' });
  assert.deepEqual([...pass.nft.tables.keys()], ['inet nft_sync']);
});

test('fake nft: a refusal takes the mark back and records the attempt; a timeout leaves the mark (the transaction may have committed)', async () => {
  const refused = testPass();
  refused.nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'no');
  const out = await applyStep(refused, plan);
  assert.equal(out.kind === 'end' && out.end.record?.state.pending, undefined);
  assert.equal(out.kind === 'end' && out.end.record?.state.lastFailed?.code, 'NFTSYNC_ERR_NFT_APPLY');
  const slow = testPass();
  slow.nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'killed');
  const timedOut = await applyStep(slow, plan);
  assert.equal(timedOut.kind === 'end' && timedOut.end.record, undefined, 'nothing recorded over the mark');
  assert.equal(slow.state()?.pending?.commit, C1);
});
