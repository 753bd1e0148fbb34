/** The verify step: answers to another question, downgrades, `unchanged`, and signed releases without proof. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyStep } from '../../../../agent/reconcile/verify-step.js';
import { fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const asked = { ref: 'main' };

test('an answer for another ref ends the pass: NFTSYNC_ERR_VERIFY_CHAIN, with the commit', async () => {
  const out = await verifyStep(testPass(), { asked, fetched: fetchedRuleset(C1, undefined, { ref: 'other' }) });
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_VERIFY_CHAIN');
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.commit, C1);
});

test('a lower release than the one in force is refused (held)', async () => {
  const state = { ref: 'v*', ruleset: 'default', commit: C2, blob: 'b'.repeat(40), managedTables: [], tag: 'v2.0.0' };
  const out = await verifyStep(testPass({ ref: 'v*', track: true }, state), { asked: { ref: 'v*', track: true }, fetched: fetchedRuleset(C1, undefined, { ref: 'v*', tag: 'v1.0.0' }) });
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_RELEASE_DOWNGRADE');
});

test('unchanged ends the pass, recording the commit when it moved', async () => {
  const f = fetchedRuleset(C2);
  const state = { ref: 'main', ruleset: 'default', commit: C1, blob: f.blob, managedTables: [] };
  const out = await verifyStep(testPass({}, state), { asked: { ref: 'main', have: { commit: C1, blob: f.blob } }, fetched: { kind: 'unchanged', ref: 'main', ruleset: 'default', commit: C2, blob: f.blob } });
  assert.equal(out.kind, 'end');
  assert.equal(out.kind === 'end' && out.end.outcome.kind, 'unchanged');
  assert.equal(out.kind === 'end' && out.end.record?.state.commit, C2);
});

test('a fresh ruleset goes on; under --allowed-signers one without a proof ends the pass', async () => {
  assert.equal((await verifyStep(testPass(), { asked, fetched: fetchedRuleset(C1) })).kind, 'next');
  const out = await verifyStep(testPass({ allowedSigners: '/nonexistent' }), { asked, fetched: fetchedRuleset(C1) });
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_VERIFY_CHAIN');
});
