import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnswerFrames } from '../../../../server/wire/answer-frames.js';
import { decodeMessage, encodeMessage } from '../../../../shared/wire/message-codec.js';
import { AHEAD_MAX_DELTA_BYTES, SERVER_MESSAGE_TYPES } from '../../../../shared/wire/messages.js';

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

test('ahead frames (protocol 2): one per branch, for its commit only, found by the name an agent follows it by; a delta over AHEAD_MAX_DELTA_BYTES keeps none; at most 16 branches', () => {
  const frames = new AnswerFrames();
  const delta = Buffer.from('nft-sync-delta 1\n= 3\n+ 1\n  "198.18.0.9",\n= 5\n');
  frames.primeAhead('refs/heads/main', C, { parent: B, ruleset: 'default', base: B, target: 1234, delta });
  const kept = frames.ahead('main', C);
  assert.ok(kept !== undefined);
  assert.equal(frames.ahead('refs/heads/main', C), kept);
  assert.equal(frames.ahead('main', 'd'.repeat(40)), undefined, 'another commit: none');
  assert.equal(frames.ahead('other', C), undefined);
  const decoded = decodeMessage(kept.frame.subarray(4), SERVER_MESSAGE_TYPES);
  assert.deepEqual(decoded.message, { type: 'ahead', ref: 'main', ruleset: 'default', commit: C, base: B, size: delta.length, target: 1234 });
  assert.deepEqual(decoded.body, delta);
  assert.equal(kept.frame.readUInt32BE(0), kept.frame.length - 4);
  // The next change replaces it; one too big for an agent's idle frame limit leaves none.
  frames.primeAhead('refs/heads/main', 'e'.repeat(40), { parent: B, ruleset: 'default', base: B, target: 1234, delta: Buffer.alloc(AHEAD_MAX_DELTA_BYTES + 1) });
  assert.equal(frames.ahead('main', C), undefined);
  assert.equal(frames.ahead('main', 'e'.repeat(40)), undefined);
  for (let i = 0; i < 20; i++) frames.primeAhead(`refs/heads/b${i}`, C, { parent: B, ruleset: 'default', base: B, target: 1, delta });
  assert.equal(frames.ahead('b3', C), undefined, 'the oldest branches dropped');
  assert.ok(frames.ahead('b19', C) !== undefined);
});

test('an ahead frame of a branch with the longest name still passes the schema agents check it by (it names the branch, not refs/heads/…): an agent refusing it would close its connection', () => {
  const frames = new AnswerFrames();
  const branch = 'b'.repeat(250);
  frames.primeAhead(`refs/heads/${branch}`, C, { parent: B, ruleset: 'default', base: B, target: 1 << 21, delta: Buffer.from('nft-sync-delta 1\n= 1\n') });
  const kept = frames.ahead(branch, C);
  assert.ok(kept !== undefined, 'kept, and found by the name the agent follows');
  assert.equal(decodeMessage(kept.frame.subarray(4), SERVER_MESSAGE_TYPES).message.type, 'ahead');
});
