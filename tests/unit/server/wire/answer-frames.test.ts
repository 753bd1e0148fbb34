import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnswerFrames } from '../../../../server/wire/answer-frames.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';

const C = 'c'.repeat(40);
const B = 'b'.repeat(40);

test('a ruleset answer from shared bytes is byte for byte what encodeMessage writes, for any id and with a tag', () => {
  const frames = new AnswerFrames();
  const body = Buffer.from('{"nftables":[]}');
  for (const id of [0, 7, 4294967295]) {
    for (const tag of [undefined, 'v1.2.3']) {
      const msg = { type: 'ruleset' as const, id, ref: 'main', ...(tag && { tag }), ruleset: 'default', commit: C, blob: B, size: body.length };
      assert.deepEqual(Buffer.concat(frames.ruleset(msg, body)), encodeMessage(msg, body));
    }
  }
  assert.equal(frames.encodes, 2, 'one encoding per distinct header (with and without the tag), whatever the id');
});

test('moved frames are encoded once per message; the cache is bounded by bytes', () => {
  const frames = new AnswerFrames(4096);
  const msg = { type: 'moved' as const, ref: 'main', commit: C };
  const a = frames.moved(msg);
  assert.equal(frames.moved({ ...msg }), a);
  assert.deepEqual(a, encodeMessage(msg));
  assert.equal(frames.encodes, 1);
  const body = Buffer.alloc(3000);
  frames.ruleset({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'a', commit: C, blob: B, size: body.length }, body);
  frames.ruleset({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'b', commit: C, blob: B, size: body.length }, body);
  frames.ruleset({ type: 'ruleset', id: 2, ref: 'main', ruleset: 'a', commit: C, blob: B, size: body.length }, body);
  assert.equal(frames.encodes, 4, 'the first ruleset was evicted by the second (4 KiB bound)');
});

test('a delta primed ahead (the element API, before the branch moves) answers the fetches of that pair without working it out; "none worth sending" primed too', () => {
  const frames = new AnswerFrames();
  const D = 'd'.repeat(40);
  const delta = Buffer.from('nft-sync-delta 1\n= 1\n');
  frames.primeDelta(B, C, delta);
  frames.primeDelta(C, D, undefined);
  assert.equal(frames.delta(B, C, () => assert.fail('primed: not worked out again')), delta);
  assert.equal(frames.delta(C, D, () => assert.fail('primed: not worked out again')), undefined);
  assert.equal(frames.deltaEncodes, 0);
  assert.equal(frames.delta(D, C, () => delta), delta, 'another pair is worked out as before');
  assert.equal(frames.deltaEncodes, 1);
});
