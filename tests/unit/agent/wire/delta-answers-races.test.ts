/**
 * Review (hostile server, races): an `ahead` frame's bytes joined by the worker are taken
 * only once written; an answer for another commit, an idle with other bytes in force, and a
 * close while the worker writes never hand out unwritten or wrong bytes, and settled() never
 * hangs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaAnswers } from '../../../../agent/wire/delta-answers.js';
import { knownBlobId } from '../../../../agent/known-blob-id.js';
import { sharedBuffer } from '../../../../shared/bytes/spare-buffer.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import type { AheadMessage, ServerMessage } from '../../../../shared/wire/messages.js';
import { encodeRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

const lines = (n: number, tag: string): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `  "198.18.${(i >> 8) & 255}.${i & 255}-${i}${i % 997 === 0 ? tag : ''}",`).join('\n'));
const msg = (blob: string, base: string, delta: Buffer, size: number, commit = 'c'.repeat(40)): ServerMessage =>
  ({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit, blob, size: delta.length, delta: { base, size } }) as ServerMessage;
const aheadMsg = (base: string, delta: Buffer, target: number, commit = 'c'.repeat(40)): AheadMessage => ({ type: 'ahead', ref: 'refs/heads/main', ruleset: 'default', commit, base, size: delta.length, target });

function fixture() {
  const plain = lines(60_000, '');
  const base = sharedBuffer(plain.length);
  plain.copy(base);
  const target = lines(60_000, 'p');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = knownBlobId(base);
  const asked = { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } };
  return { base, target, delta, baseBlob, asked };
}

test('an answer for another commit while the worker writes: not made to wait, the frame dropped untaken; the right answer after it rebuilds its own bytes', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const { base, target, delta, baseBlob, asked } = fixture();
  answers.idle(base);
  const early = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  assert.ok(early !== undefined);
  const other = msg(gitBlobId(target), baseBlob, delta, target.length, 'd'.repeat(40));
  assert.equal(answers.settled(other), undefined, 'another commit: nothing to wait for');
  const a = answers.read(other, delta, asked);
  assert.ok(a.result?.kind === 'ruleset' && a.result.bytes !== early.bytes && a.result.bytes.equals(target));
  const b = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, asked);
  assert.ok(b.result?.kind === 'ruleset' && b.result.bytes !== early.bytes && b.result.bytes.equals(target));
  assert.equal(await b.refusal, undefined);
  assert.equal(answers.aheadTaken, 0);
});

test('idle with other bytes in force while the worker writes: the frame dropped; no other frame rebuilt until the worker is done', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const { base, target, delta, baseBlob } = fixture();
  answers.idle(base);
  const first = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  assert.ok(first !== undefined);
  answers.idle(base.subarray(0)); // another Buffer object over the same bytes: not `base`
  assert.equal(answers.ahead(aheadMsg(baseBlob, delta, target.length, 'e'.repeat(40)), Buffer.from(delta), 64 << 20), undefined, 'the first still hashing: dropped');
});

test('close while the worker writes an ahead frame: settled() resolves, and the frame is never taken', async (t) => {
  const answers = new DeltaAnswers();
  const { base, target, delta, baseBlob, asked } = fixture();
  answers.idle(base);
  const early = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  assert.ok(early !== undefined);
  const answer = msg(gitBlobId(target), baseBlob, delta, target.length);
  const settled = answers.settled(answer);
  assert.ok(settled !== undefined);
  const closing = answers.close();
  await Promise.race([settled, new Promise((_, reject) => setTimeout(() => reject(new Error('settled() hung after close')), 5000).unref())]);
  assert.ok(early.bytes.equals(target), 'joined here when the worker was stopped');
  const a = answers.read(answer, delta, asked);
  assert.ok(a.result?.kind === 'ruleset' && a.result.bytes !== early.bytes && a.result.bytes.equals(target));
  assert.equal(await a.refusal, undefined);
  await closing;
  t.after(() => undefined);
});
