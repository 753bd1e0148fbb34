/** The fetch step with a fake fetcher: what it asks for, and a fetch error as the pass's end. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchStep } from '../../../../agent/reconcile/fetch-step.js';
import type { FetchRequest } from '../../../../agent/reconcile/revision-fetcher.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { DEFAULT_BYTES, fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

const C1 = '1'.repeat(40);

test('fake fetcher: the revision in force is offered as `have` (same ruleset only); a proof is asked for under --allowed-signers', async () => {
  const requests: FetchRequest[] = [];
  const fetcher = { fetch: async (r: FetchRequest) => (requests.push(r), fetchedRuleset(C1)) };
  const state = { ref: 'main', ruleset: 'default', commit: C1, blob: 'b'.repeat(40), managedTables: [] };
  const out = await fetchStep(testPass({ allowedSigners: '/x' }, state), fetcher);
  assert.equal(out.kind, 'next');
  assert.deepEqual(requests[0], { ref: 'main', track: undefined, ruleset: undefined, have: { commit: C1, blob: 'b'.repeat(40) }, checkBehind: true, proof: true });
  await fetchStep(testPass({ ruleset: 'other' }, state), fetcher);
  assert.equal(requests[1]!.have, undefined, 'another ruleset: nothing to offer');
  assert.equal(requests[1]!.proof, undefined);
  assert.equal(requests[1]!.checkBehind, undefined, 'nothing in force to be behind of');
});

test('fake fetcher: with a revision in force the server is asked whether it is behind it (checkBehind), except for tracked tags (their own guard)', async () => {
  const requests: FetchRequest[] = [];
  const fetcher = { fetch: async (r: FetchRequest) => (requests.push(r), fetchedRuleset(C1)) };
  const state = { ref: 'main', ruleset: 'default', commit: C1, blob: 'b'.repeat(40), managedTables: [] };
  const out = await fetchStep(testPass({}, state), fetcher);
  assert.equal(out.kind === 'next' && out.value.asked.checkBehind, true);
  assert.equal(requests[0]!.checkBehind, true);
  await fetchStep(testPass({ ref: 'v*', track: true }, { ...state, ref: 'v*' }), fetcher);
  assert.equal(requests[1]!.checkBehind, undefined);
});

test('fake fetcher: the bytes of the revision in force go with `have` as `base`, so a delta may come', async () => {
  const requests: FetchRequest[] = [];
  const fetcher = { fetch: async (r: FetchRequest) => (requests.push(r), fetchedRuleset(C1)) };
  const inForce = { bytes: DEFAULT_BYTES, blob: gitBlobId(DEFAULT_BYTES), ruleset: 'default', commit: C1, managedTables: [] };
  const state = { ref: 'main', ruleset: 'default', commit: C1, blob: inForce.blob, managedTables: [] };
  await fetchStep(testPass({}, state, { inForce }), fetcher);
  assert.equal(requests[0]!.base, DEFAULT_BYTES);
  await fetchStep(testPass({}, { ...state, blob: 'b'.repeat(40) }, { inForce }), fetcher);
  assert.equal(requests[1]!.base, undefined, 'bytes of another blob than `have`: none offered');
});

test('fake fetcher: a fetch error ends the pass as failed, without a commit', async () => {
  const out = await fetchStep(testPass(), { fetch: async () => Promise.reject(new NftSyncError('NFTSYNC_ERR_TIMEOUT', 'slow')) });
  assert.equal(out.kind, 'end');
  assert.deepEqual(out.kind === 'end' && out.end.outcome.kind === 'failed' && [out.end.outcome.error.code, out.end.outcome.commit, out.end.record], ['NFTSYNC_ERR_TIMEOUT', undefined, undefined]);
});
