/** agent/reconcile/reconcile-step.ts: how a step goes on or ends a pass, and what a refusal records. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endPass, failPass, next, refusePass, type PassContext } from '../../../../agent/reconcile/reconcile-step.js';
import type { AgentState, PendingRevision } from '../../../../agent/state/state-store.js';
import { NftSyncError } from '../../../../shared/errors.js';

const AT = '2026-01-01T00:00:00.000Z';
const attempt = { commit: 'c'.repeat(40), blob: 'b'.repeat(40), ruleset: 'default' };

/** A pass context holding `state` in memory (no steps run; refusePass only reads). */
function context(state: AgentState | undefined): PassContext {
  return { opts: { ref: 'main' } as PassContext['opts'], state: () => state, inForce: undefined, drifted: false, retryFailed: false, save: async () => assert.fail('refusePass must not save'), stage: () => assert.fail('refusePass must not stage'), now: () => AT };
}

test('next, endPass and failPass: the next step\'s input, or the end with its outcome (failPass records nothing)', () => {
  assert.deepEqual(next(42), { kind: 'next', value: 42 });
  const err = new NftSyncError('NFTSYNC_ERR_VERIFY_SIGNATURE', 'bad');
  assert.deepEqual(failPass(err, 'c1'), { kind: 'end', end: { outcome: { kind: 'failed', error: err, commit: 'c1' } } });
  assert.deepEqual(failPass(err), { kind: 'end', end: { outcome: { kind: 'failed', error: err } } });
  const end = { outcome: { kind: 'failed' as const, error: err } };
  assert.deepEqual(endPass(end), { kind: 'end', end });
});

test('refusePass: a retryable error records nothing; a refusal against the revision records it failed and puts the prior pending mark back', () => {
  const prior: PendingRevision = { commit: 'p'.repeat(40), blob: 'q'.repeat(40) } as PendingRevision;
  const state = { ref: 'main', ruleset: 'default', managedTables: [], pending: { commit: attempt.commit, blob: attempt.blob } } as unknown as AgentState;
  const timeout = new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'slow');
  assert.deepEqual(refusePass(context(state), timeout, attempt, prior), { kind: 'end', end: { outcome: { kind: 'failed', error: timeout, commit: attempt.commit } } });
  const refused = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'no such chain');
  const r = refusePass(context(state), refused, attempt, prior);
  assert.equal(r.kind, 'end');
  assert.deepEqual(r.end.record?.state, {
    ref: 'main', ruleset: 'default', managedTables: [], pending: prior,
    lastFailed: { commit: attempt.commit, blob: attempt.blob, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no such chain', at: AT },
  });
});

test('refusePass: nft that cannot run does not count against the revision (no failure recorded, the pending mark still goes); no state yet starts from an empty one', () => {
  const exec = new NftSyncError('NFTSYNC_ERR_NFT_EXEC', 'ENOENT');
  const r = refusePass(context({ ref: 'main', ruleset: 'default', managedTables: [], pending: { commit: attempt.commit, blob: attempt.blob } } as unknown as AgentState), exec, attempt, undefined);
  assert.deepEqual(r.kind === 'end' && r.end.record?.state, { ref: 'main', ruleset: 'default', managedTables: [] });
  const fresh = refusePass(context(undefined), new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'x'), attempt, undefined);
  assert.deepEqual(fresh.kind === 'end' && fresh.end.record?.state, { ref: 'main', ruleset: 'default', managedTables: [], lastFailed: { commit: attempt.commit, blob: attempt.blob, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'x', at: AT } });
});
