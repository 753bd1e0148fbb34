/**
 * Every transition of the agent's state (agent/state/transitions.ts), without root, disk or
 * clock: pending, applied, refused, restored after a refused confirm, interrupted, unchanged,
 * and what the status report keeps after a pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReleaseRecord } from '../../../../agent/state/release-record.js';
import {
  emptyState,
  refusalCountsAgainstRevision,
  reportAfterPass,
  stateAfterApply,
  stateAfterConfirmRefused,
  stateAfterInterruption,
  stateAfterRefusal,
  stateAfterUnchanged,
  stateWithPending,
} from '../../../../agent/state/transitions.js';
import { NftSyncError } from '../../../../shared/errors.js';
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

test('stateAfterRefusal records a failure on a fresh state or keeps the rest of one (what recordFailedAttempt did)', () => {
  const failed = { commit: C3, blob: B(C3), code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no', at: 't3' };
  assert.deepEqual(stateAfterRefusal(emptyState('main', 'default'), undefined, failed), { ref: 'main', ruleset: 'default', managedTables: [], lastFailed: failed });
  assert.deepEqual(stateAfterRefusal(inForce, undefined, failed), { ...inForce, lastFailed: failed }, 'the revision in force, its tag and tables are kept');
  assert.deepEqual(stateAfterRefusal({ ...inForce, lastFailed: { ...failed, commit: C2 } }, undefined, failed).lastFailed, failed, 'a newer failure replaces an older one');
});

test('stateWithPending: the mark goes in, replacing an older one; without a state, one is started', () => {
  const mark: PendingRevision = { commit: C2, blob: B(C2), ruleset: 'default', managedTables: [table('nft_sync')], startedAt: 't2' };
  assert.deepEqual(stateWithPending(inForce, 'main', mark), { ...inForce, pending: mark });
  assert.deepEqual(stateWithPending(undefined, 'main', mark), { ref: 'main', ruleset: 'default', managedTables: [], pending: mark });
});

test('refusalCountsAgainstRevision: nft that cannot run and a foreign table say nothing against the revision', () => {
  assert.equal(refusalCountsAgainstRevision('NFTSYNC_ERR_NFT_APPLY'), true);
  assert.equal(refusalCountsAgainstRevision('NFTSYNC_ERR_VERIFY_BLOB_MISMATCH'), true);
  assert.equal(refusalCountsAgainstRevision('NFTSYNC_ERR_NFT_EXEC'), false);
  assert.equal(refusalCountsAgainstRevision('NFTSYNC_ERR_TABLE_NOT_OWNED'), false);
});

test('stateAfterConfirmRefused: restored, the mark goes and the attempt is recorded; not restored, the mark stays; interrupted, no failure', () => {
  const mark: PendingRevision = { commit: C2, blob: B(C2), ruleset: 'default', managedTables: [table('nft_sync')], startedAt: 't2' };
  const base = { ref: 'main', ruleset: 'default' };
  const error = { code: 'NFTSYNC_ERR_CONFIRM_FAILED', message: 'cut off' };
  const restored = stateAfterConfirmRefused({ ...inForce, pending: mark }, base, { commit: C2, blob: B(C2) }, error, true, 't3');
  assert.equal(restored.pending, undefined);
  assert.deepEqual(restored.lastFailed, { commit: C2, blob: B(C2), code: 'NFTSYNC_ERR_CONFIRM_FAILED', message: 'cut off', at: 't3' });
  assert.equal(restored.commit, C1, 'the revision in force is the previous one');
  const stuck = stateAfterConfirmRefused({ ...inForce, pending: mark }, base, { commit: C2, blob: B(C2) }, error, false, 't3');
  assert.deepEqual(stuck.pending, mark, 'the next start restores again');
  const earlier = { commit: C3, blob: B(C3), code: 'X', message: 'm', at: 't' };
  const interrupted = stateAfterConfirmRefused({ ...inForce, pending: mark, lastFailed: earlier }, base, { commit: C2, blob: B(C2) }, { code: 'NFTSYNC_ERR_INTERRUPTED', message: 'SIGINT' }, true, 't3');
  assert.deepEqual(interrupted.lastFailed, earlier, 'an interrupted window says nothing against the revision');
  assert.deepEqual(stateAfterConfirmRefused(undefined, base, { commit: C2, blob: B(C2) }, error, true, 't3').managedTables, []);
});

test('stateAfterInterruption counts interruptions per blob and gives up after the limit', () => {
  const pending = { commit: 'c'.repeat(40), blob: 'd'.repeat(40), ruleset: 'default', managedTables: [], startedAt: 'x' };
  const base = { ref: 'main', ruleset: 'default', managedTables: [], pending };
  const one = stateAfterInterruption(base, pending, 3, 't');
  assert.deepEqual(one, { ref: 'main', ruleset: 'default', managedTables: [], interrupted: { blob: pending.blob, count: 1 } });
  const two = stateAfterInterruption({ ...one, pending }, pending, 3, 't');
  assert.equal(two.lastFailed, undefined);
  const three = stateAfterInterruption({ ...two, pending }, pending, 3, 't');
  assert.equal(three.lastFailed?.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  assert.equal(three.lastFailed?.at, 't');
  const other = stateAfterInterruption({ ...two, pending: { ...pending, blob: 'e'.repeat(40) } }, { ...pending, blob: 'e'.repeat(40) }, 3, 't');
  assert.equal(other.interrupted?.count, 1);
});

test('stateAfterUnchanged: the commit and tag move and a failure goes; nothing to write when nothing moved', () => {
  assert.equal(stateAfterUnchanged(undefined, { ref: 'main', commit: C2, tag: undefined }), undefined);
  assert.equal(stateAfterUnchanged(inForce, { ref: 'v*', commit: C1, tag: 'v1.0.0' }), undefined);
  assert.deepEqual(stateAfterUnchanged({ ...inForce, lastFailed: { commit: C3, blob: B(C3), code: 'X', message: 'm', at: 't' } }, { ref: 'v*', commit: C2, tag: 'v1.0.1' }), { ...inForce, commit: C2, tag: 'v1.0.1' });
  const { tag: _t, ...untagged } = inForce;
  assert.deepEqual(stateAfterUnchanged(inForce, { ref: 'v*', commit: C1, tag: undefined }), untagged, 'a tag no longer known is dropped');
});

test('reportAfterPass: success clears the error; a failure keeps the commit tried; a failure before the commit is known keeps the last one', () => {
  const error = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'no');
  const failed = reportAfterPass({ tag: 'v1' }, { kind: 'failed', error, commit: C2 });
  assert.deepEqual(failed, { tag: 'v1', attempted: C2, lastError: { code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no' } });
  const unreachable = reportAfterPass(failed, { kind: 'failed', error: new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'down') });
  assert.equal(unreachable.attempted, C2);
  assert.equal(unreachable.lastError?.code, 'NFTSYNC_ERR_CONN_FAILED');
  const apply = { managedTables: [], durationMs: 1, transaction: { kind: 'full' as const, reason: 'r' }, readback: { ok: true, mode: 'off' as const, differences: [], durationMs: 0 } };
  assert.deepEqual(reportAfterPass(unreachable, { kind: 'applied', commit: C3, blob: B(C3), ruleset: 'default', apply, tag: 'v2' }), { attempted: C3, tag: 'v2' });
  assert.deepEqual(reportAfterPass(unreachable, { kind: 'unchanged', commit: C3, blob: B(C3), ruleset: 'default' }), { attempted: C3 });
  const skipped = reportAfterPass({ tag: 'v1' }, { kind: 'skipped', commit: C2, blob: B(C2), reason: 'r', error: { code: 'NFTSYNC_ERR_NFT_APPLY', message: 'earlier' } });
  assert.deepEqual(skipped, { tag: 'v1', attempted: C2, lastError: { code: 'NFTSYNC_ERR_NFT_APPLY', message: 'earlier' } });
  // Read-back differed: the error is reported, and the tag is the new revision's (it is in force).
  const mismatch = reportAfterPass({ tag: 'v1' }, { kind: 'failed', error: new NftSyncError('NFTSYNC_ERR_READBACK_MISMATCH', 'd'), commit: C3, recorded: { tag: 'v2' } });
  assert.equal(mismatch.tag, 'v2');
  assert.equal(mismatch.lastError?.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
});
