/**
 * The record step: a state that cannot be written turns a success into NFTSYNC_ERR_STATE_CORRUPT
 * and leaves a failure as it was; the state in memory is the new one either way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { PassContext } from '../../../../agent/reconcile/reconcile-step.js';
import { recordStep } from '../../../../agent/reconcile/record-step.js';
import type { AgentState } from '../../../../agent/state/state-store.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { fakeNft } from '../../../helpers/fake-nft-runner.js';

const C = '1'.repeat(40);
const next: AgentState = { ref: 'main', ruleset: 'default', commit: C, blob: 'b'.repeat(40), managedTables: [] };

function ctx(save: PassContext['save']): PassContext & { saved: AgentState[] } {
  const saved: AgentState[] = [];
  return {
    saved,
    opts: { agent: 'h', ref: 'main', nft: fakeNft(), stateDir: '/nonexistent', logger: pino({ level: 'silent' }) },
    state: () => saved.at(-1),
    inForce: undefined,
    drifted: false,
    retryFailed: false,
    save: async (s, b) => (saved.push(s), save(s, b)),
    stage: () => undefined,
    now: () => 't',
  };
}

test('recordStep writes the state and returns the outcome', async () => {
  const c = ctx(async () => {});
  const outcome = { kind: 'unchanged' as const, commit: C, blob: next.blob!, ruleset: 'default' };
  assert.deepEqual(await recordStep(c, { outcome, record: { state: next } }), outcome);
  assert.deepEqual(c.saved, [next]);
  assert.deepEqual(await recordStep(c, { outcome }), outcome, 'nothing to record');
  assert.equal(c.saved.length, 1);
});

test('recordStep: a state that cannot be written makes a success an NFTSYNC_ERR_STATE_CORRUPT failure, and keeps a failure', async () => {
  const c = ctx(async () => Promise.reject(new Error('EROFS: read-only file system')));
  const apply = { managedTables: [], durationMs: 1, transaction: { kind: 'full' as const, reason: 'r' }, readback: { ok: true, mode: 'off' as const, differences: [], durationMs: 0 } };
  const out = await recordStep(c, { outcome: { kind: 'applied', commit: C, blob: next.blob!, ruleset: 'default', apply, tag: 'v1' }, record: { state: next } });
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_STATE_CORRUPT');
  assert.deepEqual(out.kind === 'failed' && out.recorded, { tag: 'v1' }, 'the revision is in force all the same');
  const refused = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'no');
  const kept = await recordStep(c, { outcome: { kind: 'failed', error: refused, commit: C }, record: { state: next } });
  assert.equal(kept.kind === 'failed' && kept.error, refused);
});
