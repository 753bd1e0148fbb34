import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countFlag, secondsFlag } from '../../../cli/seconds-flag.js';

test('seconds and count flags', () => {
  assert.equal(secondsFlag('30', '--confirm-window'), 30_000);
  assert.equal(secondsFlag('0.5', '--confirm-window'), 500);
  assert.equal(secondsFlag('0', '--confirm-window'), 0);
  for (const bad of ['', '-1', 'x', '1e9', 'NaN']) assert.throws(() => secondsFlag(bad, '--confirm-window'), { code: 'NFTSYNC_ERR_USAGE' });
  assert.equal(countFlag('64', '--n', 1, 100), 64);
  for (const bad of ['0', '1.5', 'x', '101']) assert.throws(() => countFlag(bad, '--n', 1, 100), { code: 'NFTSYNC_ERR_USAGE' });
});
