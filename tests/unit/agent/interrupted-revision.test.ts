import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stateAfterInterruption } from '../../../agent/interrupted-revision.js';

test('stateAfterInterruption counts interruptions per blob and gives up after the limit', () => {
  const pending = { commit: 'c'.repeat(40), blob: 'd'.repeat(40), ruleset: 'default', managedTables: [], startedAt: 'x' };
  const base = { ref: 'main', ruleset: 'default', managedTables: [], pending };
  const one = stateAfterInterruption(base, pending, 3);
  assert.deepEqual(one, { ref: 'main', ruleset: 'default', managedTables: [], interrupted: { blob: pending.blob, count: 1 } });
  const two = stateAfterInterruption({ ...one, pending }, pending, 3);
  assert.equal(two.lastFailed, undefined);
  const three = stateAfterInterruption({ ...two, pending }, pending, 3);
  assert.equal(three.lastFailed?.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  const other = stateAfterInterruption({ ...two, pending: { ...pending, blob: 'e'.repeat(40) } }, { ...pending, blob: 'e'.repeat(40) }, 3);
  assert.equal(other.interrupted?.count, 1);
});
