/**
 * The pure state transitions: what one state.json rename commits after an apply, and what a
 * refusal by nft leaves (issue 8 point 7).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReleaseRecord } from '../../../../agent/state/release-record.js';
import { tagInForce } from '../../../../agent/state/revision-state.js';
import { stateAfterApply, stateAfterRefusal } from '../../../../agent/state/transitions.js';
import type { AgentState, PendingRevision } from '../../../../agent/state/state-store.js';

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const C3 = '3'.repeat(40);
const B = (c: string) => c.replace(/./g, (d) => String.fromCharCode(d.charCodeAt(0) + 49));
const table = (name: string) => ({ family: 'inet' as const, name });

const inForce: AgentState = { ref: 'v*', ruleset: 'default', commit: C1, blob: B(C1), managedTables: [table('nft_sync')], appliedAt: 't1', tag: 'v1.0.0' };
const oldRelease: ReleaseRecord = { ref: 'track:v*', tag: 'v1.0.0', tagId: 'a'.repeat(40), taggerTime: 100 };

test('stateAfterApply: the revision, its tag and its signed-release record are one state, committed by one rename', () => {
  const release: ReleaseRecord = { ref: 'track:v*', tag: 'v2.0.0', tagId: 'b'.repeat(40), taggerTime: 200 };
  const next = stateAfterApply({ ...inForce, release: oldRelease, pending: { commit: C2, blob: B(C2), ruleset: 'default', managedTables: [], startedAt: 't' }, lastFailed: { commit: C3, blob: B(C3), code: 'X', message: 'm', at: 't' } }, {
    ref: 'v*', ruleset: 'default', commit: C2, blob: B(C2), managedTables: [table('nft_sync')], appliedAt: 't2', tag: 'v2.0.0', release,
  });
  // The record a replay check needs is in the very object saveState writes: no second file whose
  // write a crash could miss (the replay window of a separate release.json).
  assert.deepEqual(next, { ref: 'v*', ruleset: 'default', commit: C2, blob: B(C2), managedTables: [table('nft_sync')], appliedAt: 't2', tag: 'v2.0.0', release });
});

test('stateAfterApply: an apply without a new signed release keeps the record in force; without a tag, none is recorded', () => {
  const next = stateAfterApply({ ...inForce, release: oldRelease }, { ref: 'main', ruleset: 'default', commit: C2, blob: B(C2), managedTables: [], appliedAt: 't2' });
  assert.deepEqual(next.release, oldRelease);
  assert.equal(next.tag, undefined);
  assert.equal(stateAfterApply(undefined, { ref: 'main', ruleset: 'default', commit: C2, blob: B(C2), managedTables: [], appliedAt: 't2' }).release, undefined);
});

test('stateAfterRefusal: the attempt\'s pending mark goes, an older one (tables maybe in force unconfirmed) comes back', () => {
  const older: PendingRevision = { commit: C2, blob: B(C2), ruleset: 'default', managedTables: [table('left_over')], startedAt: 't2' };
  const attempt: PendingRevision = { commit: C3, blob: B(C3), ruleset: 'default', managedTables: [table('nft_sync'), table('left_over')], startedAt: 't3' };
  const failed = { commit: C3, blob: B(C3), code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no', at: 't3' };
  const after = stateAfterRefusal({ ...inForce, pending: attempt }, older, failed);
  assert.deepEqual(after.pending, older, 'the older mark, with its table left_over, is not forgotten');
  assert.deepEqual(after.lastFailed, failed);
  assert.equal(after.commit, C1, 'the revision in force is unchanged');
  // Without an older mark the attempt's own goes; nft that could not run records no failure.
  const clean = stateAfterRefusal({ ...inForce, pending: attempt, lastFailed: { ...failed, commit: C2 } }, undefined);
  assert.equal(clean.pending, undefined);
  assert.equal(clean.lastFailed?.commit, C2, 'an earlier failure stays');
});

test('tagInForce: the recorded tag, else (a state from before tags were recorded) the signed release record of the pattern', () => {
  assert.equal(tagInForce(undefined, 'v*'), undefined);
  assert.equal(tagInForce(inForce, 'v*'), 'v1.0.0');
  const { tag: _t, ...legacy } = inForce;
  assert.equal(tagInForce(legacy, 'v*'), undefined);
  assert.equal(tagInForce({ ...legacy, release: { ...oldRelease, tag: 'v2.0.0' } }, 'v*'), 'v2.0.0');
  assert.equal(tagInForce({ ...legacy, release: { ...oldRelease, ref: 'track:release-*' } }, 'v*'), undefined, 'another pattern\'s record says nothing');
});
