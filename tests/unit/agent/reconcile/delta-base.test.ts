/** deltaBase: the revision in force is the start of a minimal transaction only while the host is known to hold it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaBase } from '../../../../agent/reconcile/delta-base.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { DEFAULT_BYTES } from '../../../helpers/pass-context.js';

const inForce = { bytes: DEFAULT_BYTES, blob: gitBlobId(DEFAULT_BYTES), ruleset: 'default', commit: '1'.repeat(40), managedTables: [] };
const clean = { drifted: false, pendingLeftover: false };

test('the confirmed revision in force, parsed, when no drift is outstanding and no pending mark is left over', () => {
  const base = deltaBase(inForce, clean);
  assert.ok(base !== undefined);
  assert.ok(base.nftables.some((i) => 'table' in i));
});

test('none without a revision in force, with a drift outstanding, with a pending mark left over, or with bytes that do not hash to the blob', () => {
  assert.equal(deltaBase(undefined, clean), undefined);
  assert.equal(deltaBase(inForce, { drifted: true, pendingLeftover: false }), undefined);
  assert.equal(deltaBase(inForce, { drifted: false, pendingLeftover: true }), undefined);
  assert.equal(deltaBase({ ...inForce, bytes: Buffer.from('{"nftables":[]}') }, clean), undefined);
});
