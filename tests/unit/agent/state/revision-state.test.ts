/** tagInForce: the tag of the release in force under --track-tags. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReleaseRecord } from '../../../../agent/state/release-record.js';
import { tagInForce } from '../../../../agent/state/revision-state.js';
import type { AgentState } from '../../../../agent/state/state-store.js';

const C1 = '1'.repeat(40);
const inForce: AgentState = { ref: 'v*', ruleset: 'default', commit: C1, blob: 'b'.repeat(40), managedTables: [{ family: 'inet', name: 'nft_sync' }], appliedAt: 't1', tag: 'v1.0.0' };
const oldRelease: ReleaseRecord = { ref: 'track:v*', tag: 'v1.0.0', tagId: 'a'.repeat(40), taggerTime: 100 };

test('tagInForce: the recorded tag, else (a state from before tags were recorded) the signed release record of the pattern', () => {
  assert.equal(tagInForce(undefined, 'v*'), undefined);
  assert.equal(tagInForce(inForce, 'v*'), 'v1.0.0');
  const { tag: _t, ...legacy } = inForce;
  assert.equal(tagInForce(legacy, 'v*'), undefined);
  assert.equal(tagInForce({ ...legacy, release: { ...oldRelease, tag: 'v2.0.0' } }, 'v*'), 'v2.0.0');
  assert.equal(tagInForce({ ...legacy, release: { ...oldRelease, ref: 'track:release-*' } }, 'v*'), undefined, 'another pattern\'s record says nothing');
});
