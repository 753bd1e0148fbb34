/**
 * DeltaAnswers over padded revisions of one size (the server's texts: shared/ruleset/text-pad.ts):
 * the rebuilt text's hash resumes from the worker's state of the bytes in force (resumeFrom), for
 * answers and `ahead` frames alike, and every id is still git's id of the rebuilt bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaAnswers } from '../../../../agent/wire/delta-answers.js';
import { knownBlobId } from '../../../../agent/known-blob-id.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import type { AheadMessage, ServerMessage } from '../../../../shared/wire/messages.js';
import { windowDelta } from '../../../../shared/wire/window-delta.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const at = { family: 'inet', table: 'f', name: 'block' };

test('a chain of padded revisions of one size: each hash resumed from the one in force (answers and ahead frames), each id git\'s', async (t) => {
  const composed = ComposedText.build(renderRuleset({ nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { ...at, type: 'ipv4_addr', elem: Array.from({ length: 120_000 }, (_, i) => ip(i)) } }] }), [])!;
  let next = 500_000;
  const texts: Array<{ bytes: Buffer; pad: number }> = [];
  for (let i = 0; i < 5; i++) {
    composed.applyPlanned(composed.plan(at, { add: Array.from({ length: 300 }, () => ip(next++)) })!);
    texts.push({ bytes: Buffer.from(composed.text()!), pad: composed.pad });
  }
  assert.ok(texts.every((x) => x.bytes.length === texts[0]!.bytes.length), 'one size');
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  let inForce = texts[0]!.bytes;
  let resumed = 0;
  for (let i = 1; i < texts.length; i++) {
    const target = texts[i]!.bytes;
    const w = windowDelta(inForce, target, { added: 300, deleted: 0 }, { pads: { base: texts[i - 1]!.pad, target: texts[i]!.pad } })!;
    assert.ok(w, `step ${i}: a window delta`);
    const baseBlob = knownBlobId(inForce);
    const blob = gitBlobId(target);
    answers.idle(inForce);
    const commit = String(i).repeat(40);
    if (i % 2 === 0) answers.ahead({ type: 'ahead', ref: 'refs/heads/main', ruleset: 'default', commit, base: baseBlob, size: w.delta.length, target: target.length } as AheadMessage, Buffer.from(w.delta), 64 << 20);
    const message = { type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit, blob, size: w.delta.length, delta: { base: baseBlob, size: target.length } } as ServerMessage;
    await answers.settled(message);
    const a = answers.read(message, w.delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: inForce } });
    assert.ok(a.result?.kind === 'ruleset' && a.result.bytes.equals(target), `step ${i}: rebuilt`);
    assert.equal(await a.refusal, undefined, `step ${i}: the id is git's`);
    if (a.result?.kind !== 'ruleset') return;
    if (i >= 2) assert.ok(answers.resumedBytes > resumed, `step ${i}: hashed from the state of the bytes in force`);
    resumed = answers.resumedBytes;
    inForce = a.result.bytes;
  }
  assert.equal(answers.aheadTaken, 2);
});
