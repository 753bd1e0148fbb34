/** cli/command.ts: reading a string flag, and --ref / --track-tags as exactly one target. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { str, target } from '../../../cli/command.js';

test('str: a string flag\'s value; undefined for a missing or non-string one', () => {
  assert.equal(str({ ref: 'main' }, 'ref'), 'main');
  assert.equal(str({ ref: '' }, 'ref'), '');
  assert.equal(str({}, 'ref'), undefined);
  assert.equal(str({ check: true }, 'check'), undefined);
});

test('target: --ref gives a ref, --track-tags a tracked pattern, neither or both NFTSYNC_ERR_USAGE naming the command', () => {
  assert.deepEqual(target('pull', { ref: 'v1' }), { ref: 'v1', track: false });
  assert.deepEqual(target('pull', { 'track-tags': 'v*' }), { ref: 'v*', track: true });
  for (const bad of [{}, { ref: 'main', 'track-tags': 'v*' }]) {
    assert.throws(() => target('agent', bad), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_USAGE' && /^agent: give exactly one of --ref REF or --track-tags PATTERN/.test(err.message));
  }
});
