/** The read-back step never ends the pass: with a fake nft, a mismatch goes on to the confirm window as data. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTransaction } from '../../../../agent/reconcile/apply-ruleset.js';
import { readBackStep } from '../../../../agent/reconcile/read-back-step.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { DEFAULT_BYTES, fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

test('fake nft: a read-back that differs goes on (kind next) carrying the mismatch', async () => {
  const pass = testPass();
  const ruleset = parseRuleset(DEFAULT_BYTES);
  const transaction = await applyTransaction({ nft: pass.nft, ruleset });
  pass.nft.alterListing = () => ({ nftables: [] });
  const out = await readBackStep(pass, { plan: { fetched: fetchedRuleset('1'.repeat(40)), ruleset, owned: [], newTables: transaction.managedTables }, transaction });
  assert.equal(out.kind, 'next');
  assert.equal(out.kind === 'next' && out.value.readback.error?.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
});
