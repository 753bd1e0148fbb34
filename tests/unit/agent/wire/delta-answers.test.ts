/**
 * DeltaAnswers: a big delta answer is rebuilt into shared memory made ready while idle, and its
 * blob id computed in a worker (remembered for the bytes once known); bytes of another blob are
 * refused as deltaRefusal refuses them; small answers are as before (a plain Buffer, hashed now).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaAnswers, SPARE_MIN_BYTES } from '../../../../agent/wire/delta-answers.js';
import { knownBlobId } from '../../../../agent/known-blob-id.js';
import { lineIndexKnown } from '../../../../agent/wire/fetch-answer.js';
import { isShared, sharedBuffer } from '../../../../shared/bytes/spare-buffer.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { AHEAD_MAX_DELTA_BYTES, type AheadMessage, type ServerMessage } from '../../../../shared/wire/messages.js';
import { encodeRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

const lines = (n: number, tag: string): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `  "198.18.${(i >> 8) & 255}.${i & 255}-${i}${i % 997 === 0 ? tag : ''}",`).join('\n'));
const msg = (blob: string, base: string, delta: Buffer, size: number, commit = 'c'.repeat(40)): ServerMessage =>
  ({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit, blob, size: delta.length, delta: { base, size } }) as ServerMessage;

test('a big delta: rebuilt into shared memory (the block prepared while idle), its blob id computed in the worker and remembered', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'x');
  assert.ok(target.length >= SPARE_MIN_BYTES);
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = gitBlobId(base);
  answers.idle(base);
  const a = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  assert.ok(a.result?.kind === 'ruleset');
  if (a.result?.kind !== 'ruleset') return;
  assert.ok(isShared(a.result.bytes), 'rebuilt into a SharedArrayBuffer');
  assert.ok(a.result.bytes.equals(target));
  assert.equal(await a.refusal, undefined);
  assert.equal(knownBlobId(a.result.bytes), gitBlobId(target));
  assert.equal(lineIndexKnown(a.result.bytes), false, 'no line index found while rebuilding');
  answers.idle(a.result.bytes);
  assert.equal(lineIndexKnown(a.result.bytes), true, 'found when idle, for the next delta against them');
});

test('security: a big delta rebuilding bytes of another blob is refused (the whole ruleset is fetched instead)', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'y');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = gitBlobId(base);
  const announced = gitBlobId(lines(60_000, 'z'));
  const a = answers.read(msg(announced, baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  assert.match((await a.refusal) ?? '', new RegExp(`do not hash to blob ${announced}`));
});

test('a small delta: a plain Buffer, its verdict at once', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = Buffer.from('a\nb\nc');
  const target = Buffer.from('a\nx\nc');
  const d = Buffer.from('nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n');
  const a = answers.read(msg(gitBlobId(target), 'a'.repeat(40), d, 5), d, { maxRulesetBytes: 100, proof: false, base: { blob: 'a'.repeat(40), bytes: base } });
  assert.ok(a.result?.kind === 'ruleset' && !isShared(a.result.bytes) && a.result.bytes.equals(target));
  assert.equal(await a.refusal, undefined);
  const bad = answers.read({ ...(msg(gitBlobId(target), 'a'.repeat(40), d, 5) as object), delta: { base: 'a'.repeat(40), size: 9 } } as ServerMessage, d, { maxRulesetBytes: 100, proof: false, base: { blob: 'a'.repeat(40), bytes: base } });
  assert.equal(bad.error?.code, 'NFTSYNC_ERR_MSG_INVALID');
  assert.match((await bad.refusal) ?? '', /NFTSYNC_ERR_MSG_INVALID/);
});

test('security (review): two big answers read back to back never share memory, and each verdict is of its own bytes (a hostile one does not pass on the good one\'s id)', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const good = lines(60_000, 'g');
  const other = lines(60_000, 'o');
  const baseBlob = gitBlobId(base);
  const asked = { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } };
  answers.idle(base);
  const dGood = encodeRulesetDelta(base, good)!;
  const dOther = encodeRulesetDelta(base, other)!;
  // The hostile answer first (it takes the prepared block), announcing the good blob; then the good one.
  const hostile = answers.read(msg(gitBlobId(good), baseBlob, dOther, other.length), dOther, asked);
  answers.idle(base); // idle between the two (a pass ended): the block handed out must not come back
  const honest = answers.read(msg(gitBlobId(good), baseBlob, dGood, good.length), dGood, asked);
  assert.ok(hostile.result?.kind === 'ruleset' && honest.result?.kind === 'ruleset');
  if (hostile.result?.kind !== 'ruleset' || honest.result?.kind !== 'ruleset') return;
  assert.notEqual(hostile.result.bytes.buffer, honest.result.bytes.buffer, 'two texts, two blocks');
  assert.match((await hostile.refusal) ?? '', /do not hash to blob/);
  assert.equal(await honest.refusal, undefined);
  assert.ok(hostile.result.bytes.equals(other), 'the hostile bytes unchanged by the next rebuild');
  assert.ok(honest.result.bytes.equals(good));
  assert.equal(knownBlobId(hostile.result.bytes), gitBlobId(other), 'the id remembered is that of the bytes, not the one announced');
  answers.idle(honest.result.bytes);
  assert.ok(honest.result.bytes.equals(good), 'preparing the next block leaves the text in force alone');
});

test('security (review): a big delta against a base this agent did not offer is an error, refused; nothing rebuilt', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'q');
  const delta = encodeRulesetDelta(base, target)!;
  const a = answers.read(msg(gitBlobId(target), 'e'.repeat(40), delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: gitBlobId(base), bytes: base } });
  assert.equal(a.result, undefined);
  assert.equal(a.error?.code, 'NFTSYNC_ERR_MSG_INVALID');
  assert.match((await a.refusal) ?? '', /did not offer/);
});

test('a delta that keeps the size and leaves the head alone (a padded composed text): its hash goes on from the state the worker kept for the bytes in force, and is right', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  // Each text the last with one line near its end replaced by one as long.
  const texts = [lines(60_000, '')];
  for (let k = 1; k <= 3; k++) {
    const next = Buffer.from(texts.at(-1)!);
    const at = next.lastIndexOf('198.18', next.length - k * 40);
    next.write(`201.${k}.1`, at);
    texts.push(next);
  }
  const asked = (i: number) => ({ maxRulesetBytes: 64 << 20, proof: false, base: { blob: gitBlobId(texts[i]!), bytes: texts[i]! } });
  let inForce = texts[0]!;
  for (let i = 1; i <= 3; i++) {
    answers.idle(inForce);
    const before = answers.resumedBytes;
    const delta = encodeRulesetDelta(texts[i - 1]!, texts[i]!)!;
    const a = answers.read(msg(gitBlobId(texts[i]!), gitBlobId(texts[i - 1]!), delta, texts[i]!.length), delta, { ...asked(i - 1), base: { ...asked(i - 1).base, bytes: inForce } });
    assert.ok(a.result?.kind === 'ruleset');
    if (a.result?.kind !== 'ruleset') return;
    assert.equal(await a.refusal, undefined, `text ${i}: its id is right`);
    const skipped = answers.resumedBytes - before;
    // The first is hashed whole (the bytes in force were not hashed by this worker); the next go on.
    if (i === 1) assert.equal(skipped, 0);
    else assert.ok(skipped > texts[i]!.length - 1024 * 1024, `text ${i}: ${skipped} of ${texts[i]!.length} bytes not hashed again`);
    inForce = a.result.bytes;
  }
});

/** An `ahead` frame's header: `delta` against `base` rebuilding `target` bytes, for commit `commit`. */
const aheadMsg = (base: string, delta: Buffer, target: number, commit = 'c'.repeat(40)): AheadMessage => ({ type: 'ahead', ref: 'refs/heads/main', ruleset: 'default', commit, base, size: delta.length, target });

test('an ahead frame (protocol 2): rebuilt over the bytes in force and hashed at once; the answer with the very same delta takes those bytes and that hash, and nothing of it is used before the answer', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'a');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = knownBlobId(base);
  answers.idle(base);
  answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  const a = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  assert.ok(a.result?.kind === 'ruleset' && a.result.bytes.equals(target));
  assert.equal(answers.aheadTaken, 1, 'the answer took the bytes rebuilt ahead');
  assert.equal(await a.refusal, undefined);
  // Taken once: a second answer of the same delta is rebuilt anew (another Buffer).
  const b = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  assert.ok(b.result?.kind === 'ruleset' && a.result?.kind === 'ruleset');
  if (b.result?.kind !== 'ruleset' || a.result?.kind !== 'ruleset') return;
  assert.notEqual(b.result.bytes, a.result.bytes, 'the ahead bytes serve one answer');
  assert.equal(answers.aheadTaken, 1);
  assert.ok(b.result.bytes.equals(target));
});

test('an ahead frame serves only the answer of the same delta for the same commit: any other answer is rebuilt from its own delta', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'b');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = knownBlobId(base);
  answers.idle(base);
  answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  // A fetch answered with another delta (here: corrupted) is rebuilt from its own bytes, never from the ahead one's.
  const other = Buffer.from(delta.toString().replace('b', 'q'));
  const o = answers.read(msg(gitBlobId(target), baseBlob, other, target.length), other, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  if (o.result?.kind === 'ruleset') assert.ok(!o.result.bytes.equals(target), 'the answer\'s own delta, not the ahead frame\'s');
  assert.notEqual(await o.refusal, undefined, 'its bytes do not hash to the blob announced: refused');
  // Used only by an answer for the same commit: the ahead frame is gone after any answer.
  answers.idle(base);
  answers.ahead(aheadMsg(baseBlob, delta, target.length, 'd'.repeat(40)), Buffer.from(delta), 64 << 20);
  const c = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  assert.ok(c.result?.kind === 'ruleset' && c.result.bytes.equals(target));
  assert.equal(await c.refusal, undefined);
  assert.equal(answers.aheadTaken, 0, 'neither answer took the ahead bytes');
});

test('security: ahead frames that do not fit are dropped without a word, and the answer is judged as ever: another base, garbage, another length, over the limit, bytes of another blob', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const target = lines(60_000, 'c');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = knownBlobId(base);
  const fetch = (announced: string) => answers.read(msg(announced, baseBlob, delta, target.length), delta, { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } });
  // Before idle named the bytes in force: nothing to rebuild over.
  answers.ahead(aheadMsg(baseBlob, delta, target.length), delta, 64 << 20);
  for (const [why, m, body] of [
    ['another base', aheadMsg('e'.repeat(40), delta, target.length), delta],
    ['garbage', aheadMsg(baseBlob, Buffer.from('nft-sync-delta 1\n= 99999999\n'), target.length), Buffer.from('nft-sync-delta 1\n= 99999999\n')],
    ['another length', aheadMsg(baseBlob, delta, target.length + 1), delta],
    ['over the limit', aheadMsg(baseBlob, delta, target.length), delta],
  ] as const) {
    answers.idle(base);
    assert.doesNotThrow(() => answers.ahead(m, body, why === 'over the limit' ? target.length - 1 : 64 << 20), why);
    const a = fetch(gitBlobId(target));
    assert.ok(a.result?.kind === 'ruleset' && a.result.bytes.equals(target), why);
    assert.equal(await a.refusal, undefined, why);
    assert.equal(answers.aheadTaken, 0, why);
  }
  // A frame whose delta rebuilds bytes of another blob than the answer's: refused as without it.
  answers.idle(base);
  answers.ahead(aheadMsg(baseBlob, delta, target.length), delta, 64 << 20);
  const announced = gitBlobId(lines(60_000, 'z'));
  assert.match((await fetch(announced).refusal) ?? '', new RegExp(`do not hash to blob ${announced}`));
  assert.equal(answers.aheadTaken, 1, 'taken, and judged by the answer\'s blob id');
});

/** SharedArrayBuffers made while `fn` runs (each rebuild into fresh shared memory makes one). */
function sharedBlocksMade(fn: () => void): number {
  const Real = globalThis.SharedArrayBuffer;
  let made = 0;
  class Counting extends Real {
    constructor(n: number) {
      super(n);
      made++;
    }
  }
  globalThis.SharedArrayBuffer = Counting as typeof SharedArrayBuffer;
  try {
    fn();
  } finally {
    globalThis.SharedArrayBuffer = Real;
  }
  return made;
}

test('security (hostile server): ahead frames cost no copy when they cannot be used: a wrong target is refused before a byte is copied, a delta over AHEAD_MAX_DELTA_BYTES unread, and one frame is kept per pass', (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const base = lines(60_000, '');
  const copyAll = Buffer.from(`nft-sync-delta 1\n= 60000\n`);
  const baseBlob = knownBlobId(base);
  answers.idle(base);
  // A hundred frames, each a few hundred bytes, claiming one byte more than the delta rebuilds.
  assert.equal(sharedBlocksMade(() => {
    for (let i = 0; i < 100; i++) answers.ahead(aheadMsg(baseBlob, copyAll, base.length + 1), copyAll, 64 << 20);
  }), 0, 'no memory made for a size that does not fit');
  const big = Buffer.concat([Buffer.from('nft-sync-delta 1\n= 60000\n'), Buffer.alloc(AHEAD_MAX_DELTA_BYTES)]);
  assert.equal(sharedBlocksMade(() => answers.ahead(aheadMsg(baseBlob, big, base.length), big, 64 << 20)), 0, 'a delta over the limit is not read');
  // A good one is rebuilt; the next ones wait until an answer or the next idle took or dropped it.
  answers.ahead(aheadMsg(baseBlob, copyAll, base.length), copyAll, 64 << 20);
  assert.equal(sharedBlocksMade(() => {
    for (let i = 0; i < 20; i++) answers.ahead(aheadMsg(baseBlob, copyAll, base.length, 'f'.repeat(40)), copyAll, 64 << 20);
  }), 0, 'one kept per pass');
});

/** Bytes in force in shared memory (as a rebuilt revision is), a target and the delta between them. */
function sharedInForce() {
  const plain = lines(60_000, '');
  const base = sharedBuffer(plain.length);
  plain.copy(base);
  const target = lines(60_000, 'p');
  const delta = encodeRulesetDelta(base, target)!;
  const baseBlob = knownBlobId(base);
  const asked = { maxRulesetBytes: 64 << 20, proof: false, base: { blob: baseBlob, bytes: base } };
  return { base, target, delta, baseBlob, asked };
}

test('an ahead frame over bytes in force held in shared memory (as a rebuilt revision is): joined by the worker as it hashes its pieces, taken once written (settled), judged the same; not taken while still being written', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const { base, target, delta, baseBlob, asked } = sharedInForce();
  for (const [announced, ok] of [[gitBlobId(target), true], [gitBlobId(lines(60_000, 'q')), false]] as const) {
    answers.idle(base);
    const rebuilt = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
    assert.ok(rebuilt !== undefined && isShared(rebuilt.bytes), 'rebuilt into shared memory, by the worker');
    const answer = msg(announced, baseBlob, delta, target.length);
    const settled = answers.settled(answer);
    assert.ok(settled !== undefined, 'the worker is still writing the bytes');
    await settled;
    assert.equal(answers.settled(answer), undefined, 'written: nothing to wait for');
    const a = answers.read(answer, delta, asked);
    assert.ok(a.result?.kind === 'ruleset' && a.result.bytes === rebuilt.bytes && a.result.bytes.equals(target));
    if (ok) assert.equal(await a.refusal, undefined);
    else assert.match((await a.refusal) ?? '', /do not hash to blob/);
  }
  assert.equal(answers.aheadTaken, 2);
  // Read at once, while the worker still writes them: the bytes are not taken, the answer is rebuilt here.
  answers.idle(base);
  const early = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  assert.ok(early !== undefined);
  const a = answers.read(msg(gitBlobId(target), baseBlob, delta, target.length), delta, asked);
  assert.ok(a.result?.kind === 'ruleset' && a.result.bytes !== early.bytes && a.result.bytes.equals(target));
  assert.equal(await a.refusal, undefined);
  assert.equal(answers.aheadTaken, 2);
});

test('review (hostile server, races): an answer for another commit while the worker writes: not made to wait, the frame dropped untaken; the right answer after it rebuilds its own bytes', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const { base, target, delta, baseBlob, asked } = sharedInForce();
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

test('review (races): idle with other bytes in force while the worker writes: the frame dropped; no other frame rebuilt until the worker is done', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const { base, target, delta, baseBlob } = sharedInForce();
  answers.idle(base);
  const first = answers.ahead(aheadMsg(baseBlob, delta, target.length), Buffer.from(delta), 64 << 20);
  assert.ok(first !== undefined);
  answers.idle(base.subarray(0)); // another Buffer object over the same bytes: not `base`
  assert.equal(answers.ahead(aheadMsg(baseBlob, delta, target.length, 'e'.repeat(40)), Buffer.from(delta), 64 << 20), undefined, 'the first still hashing: dropped');
});

test('review (races): close while the worker writes an ahead frame: settled() resolves, and the frame is never taken', async () => {
  const answers = new DeltaAnswers();
  const { base, target, delta, baseBlob, asked } = sharedInForce();
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
});
