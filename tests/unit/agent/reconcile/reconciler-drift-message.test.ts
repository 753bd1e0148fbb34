/**
 * The drift message in the status names its code once: `NFTSYNC_ERR_DRIFTED: drift: ...`, not
 * `NFTSYNC_ERR_DRIFTED: NFTSYNC_ERR_DRIFTED: drift: ...`. The reconciler is built without a state
 * directory and never runs nft here (noteDrift and status() touch neither).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Reconciler } from '../../../../agent/reconcile/reconciler.js';
import type { NftRunner } from '../../../../host/nft-runner.js';
import { NftSyncError } from '../../../../shared/errors.js';

const unusedNft = new Proxy({}, { get: () => () => assert.fail('nft must not run') }) as unknown as NftRunner;

function reconciler(): Reconciler {
  return new Reconciler({ agent: 'h1', ref: 'main', nft: unusedNft, stateDir: '/nonexistent', logger: pino({ level: 'silent' }) }, undefined);
}

test('an unhealed drift: Ready names NFTSYNC_ERR_DRIFTED once, the Drifted condition not at all', () => {
  const r = reconciler();
  r.noteDrift(new NftSyncError('NFTSYNC_ERR_DRIFTED', 'drift: rule added in inet nft_sync input: tcp dport 23 accept'), false);
  const status = r.status();
  const ready = status.conditions.find((c) => c.type === 'Ready')!;
  assert.equal(ready.reason, 'Drifted');
  assert.equal(ready.message, 'NFTSYNC_ERR_DRIFTED: drift: rule added in inet nft_sync input: tcp dport 23 accept');
  for (const c of status.conditions) assert.ok((c.message?.match(/NFTSYNC_ERR_DRIFTED/g) ?? []).length <= 1, `${c.type}: ${c.message}`);
  const drifted = status.conditions.find((c) => c.type === 'Drifted')!;
  assert.match(drifted.message!, /^\S+Z drift: rule added/);
});

test('a healed drift keeps its record without the code repeated', () => {
  const r = reconciler();
  r.noteDrift(new NftSyncError('NFTSYNC_ERR_DRIFTED', 'drift healed: rule added'), true);
  const drifted = r.status().conditions.find((c) => c.type === 'Drifted')!;
  assert.equal(drifted.reason, 'Healed');
  assert.doesNotMatch(drifted.message!, /NFTSYNC_ERR_DRIFTED/);
});
