/** The confirm step with a fake nft and fake probes: it always ends the pass, with what to record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confirmStep } from '../../../../agent/reconcile/confirm-step.js';
import type { ReadBackDone } from '../../../../agent/reconcile/read-back-step.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { DEFAULT_BYTES, fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

const C1 = '1'.repeat(40);
const table = { family: 'inet' as const, name: 'nft_sync' };
const done = (readback: ReadBackDone['readback']): ReadBackDone => ({
  plan: { fetched: fetchedRuleset(C1, DEFAULT_BYTES, { tag: 'v1.0.0' }), ruleset: parseRuleset(DEFAULT_BYTES), owned: [], newTables: [table] },
  transaction: { managedTables: [table], durationMs: 1, transaction: { kind: 'full' as const, reason: 'no revision in force to start from' } },
  readback,
});
const matched = { ok: true, mode: 'full' as const, differences: [], durationMs: 1 };

test('guard off or the server reached: applied, and the state to record is the revision in force with its bytes', async () => {
  const out = await confirmStep(testPass(), done(matched));
  assert.equal(out.end.outcome.kind, 'applied');
  assert.equal(out.end.record?.state.commit, C1);
  assert.equal(out.end.record?.bytes, done(matched).plan.fetched.bytes);
  const reached = await confirmStep(testPass({ confirm: { windowMs: 1000, probe: async () => {} } }), done(matched));
  assert.equal(reached.end.outcome.kind, 'applied');
});

test('a read-back that differed: failed with its error, but recorded as the revision in force', async () => {
  const error = new NftSyncError('NFTSYNC_ERR_READBACK_MISMATCH', 'differs');
  const out = await confirmStep(testPass(), done({ ...matched, ok: false, differences: ['x'], error }));
  assert.equal(out.end.outcome.kind === 'failed' && out.end.outcome.error, error);
  assert.deepEqual(out.end.outcome.kind === 'failed' && out.end.outcome.recorded, { tag: 'v1.0.0' });
  assert.equal(out.end.record?.state.commit, C1);
});

test('fake nft: the server not reached in the window: the host as it was is restored, the attempt recorded as failed', async () => {
  const pass = testPass({ confirm: { windowMs: 20, probe: async () => Promise.reject(new Error('cut off')) } });
  pass.nft.tables.set('inet nft_sync', []);
  const out = await confirmStep(pass, done(matched));
  assert.equal(out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  assert.equal(out.end.record?.state.commit, undefined);
  assert.equal(out.end.record?.state.lastFailed?.commit, C1);
  assert.deepEqual([...pass.nft.tables.keys()], [], 'no revision before: its tables were deleted');
});
