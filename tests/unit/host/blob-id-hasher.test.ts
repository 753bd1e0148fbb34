/**
 * host/blob-id-hasher.ts on its own, against node:crypto: the id of a text fed as pieces (any
 * boundaries, with and without `into`) is the git blob id of its bytes, sha1 and sha256; a text of
 * 1 MiB or more leaves a state every CHECKPOINT bytes that is the hash of the header and that
 * prefix; a text started from such a state has the right id, and its bytes before the state are
 * copied into `into` but not hashed; pieces of the wrong total length throw, as documented.
 * Texts of 1-3 MB, each hashed a few times.
 */
import assert from 'node:assert/strict';
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CHECKPOINT, type HashStart } from '../../../host/blob-id-checkpoints.js';
import { BlobIdHasher } from '../../../host/blob-id-hasher.js';

type Algorithm = 'sha1' | 'sha256';
const ALGORITHMS: Algorithm[] = ['sha1', 'sha256'];
/** The hasher's chunk when joining (not exported): piece boundaries around it are tried too. */
const CHUNK = 256 * 1024;
const MIB = 1 << 20;

/** The hash of git's blob header for a text of `length` bytes followed by `bytes` (all of the text, or a prefix of it), straight from node:crypto. */
const headed = (algorithm: Algorithm, length: number, bytes: Uint8Array): Hash => createHash(algorithm).update(`blob ${length}\0`).update(bytes);
/** The git blob id of `text`. */
const blobId = (algorithm: Algorithm, text: Uint8Array): string => headed(algorithm, text.length, text).digest('hex');

/** `text` cut at `cuts` (sorted, within it; repeats give empty pieces). */
function piecesOf(text: Uint8Array, cuts: number[]): Uint8Array[] {
  const ends = [...cuts, text.length];
  return ends.map((end, i) => text.subarray(i === 0 ? 0 : ends[i - 1]!, end));
}

/** Feed `pieces` to a new hasher and finish it. */
function hash(algorithm: Algorithm, length: number, pieces: Uint8Array[], into?: Uint8Array, start?: HashStart): ReturnType<BlobIdHasher['finish']> {
  const hasher = new BlobIdHasher(algorithm, length, into, start);
  for (const piece of pieces) hasher.feed(piece);
  return hasher.finish();
}

/** The state's hash, read from a copy (the state itself stays usable). */
const digestOf = (state: Hash): string => state.copy().digest('hex');

const LENGTH = 4 * CHECKPOINT + 12345;
const text = randomFillSync(Buffer.alloc(LENGTH));

/** Ways to cut `text`: whole, around CHUNK and CHECKPOINT, on them, empty and one-byte pieces, many small pieces. */
const CUTS: [name: string, cuts: number[]][] = [
  ['one piece', []],
  ['one byte, then the rest', [1]],
  ['across the chunk and the checkpoint', [CHUNK - 1, CHUNK + 1, CHECKPOINT - 3, CHECKPOINT + 3, 3 * CHECKPOINT - 1]],
  ['ending on checkpoints and chunks', [CHUNK, CHECKPOINT, 2 * CHECKPOINT, 2 * CHECKPOINT + CHUNK, 3 * CHECKPOINT]],
  ['empty pieces', [0, 0, CHECKPOINT, CHECKPOINT, LENGTH, LENGTH]],
  ['pieces of 100,003 bytes', Array.from({ length: Math.floor(LENGTH / 100_003) }, (_, i) => (i + 1) * 100_003)],
];

describe('host/blob-id-hasher.ts', { timeout: 60_000 }, () => {
  it('the id is git\'s blob id of the text, sha1 and sha256, however it is cut, with and without `into` (its first bytes written, the rest left)', () => {
    for (const algorithm of ALGORITHMS) {
      const expected = blobId(algorithm, text);
      for (const [name, cuts] of CUTS) {
        const pieces = piecesOf(text, cuts);
        assert.equal(hash(algorithm, LENGTH, pieces).blob, expected, `${algorithm}, ${name}`);
        const into = Buffer.alloc(LENGTH + 10, 0xee);
        assert.equal(hash(algorithm, LENGTH, pieces, into).blob, expected, `${algorithm}, ${name}, into`);
        assert.ok(into.subarray(0, LENGTH).equals(text), `${algorithm}, ${name}: the text written into \`into\``);
        assert.ok(into.subarray(LENGTH).every((b) => b === 0xee), `${algorithm}, ${name}: nothing after it`);
      }
    }
  });

  it('git\'s own ids: the empty blob and "hello\\n"', () => {
    assert.equal(hash('sha1', 0, []).blob, 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    assert.equal(hash('sha1', 6, [Buffer.from('hel'), Buffer.from('lo\n')]).blob, 'ce013625030ba8dba906f756967f9e9ca394464a');
    assert.equal(hash('sha256', 0, []).blob, '473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813');
  });

  it('a text of 1 MiB or more keeps a state every CHECKPOINT bytes, each the hash of the header and that prefix; a smaller text none', () => {
    for (const algorithm of ALGORITHMS) {
      for (const [name, cuts] of CUTS) {
        for (const into of [undefined, Buffer.alloc(LENGTH)]) {
          const { blob, states } = hash(algorithm, LENGTH, piecesOf(text, cuts), into);
          const what = `${algorithm}, ${name}${into ? ', into' : ''}`;
          assert.ok(states !== undefined, what);
          assert.equal(states.length, Math.floor(LENGTH / CHECKPOINT), what);
          states.forEach((state, i) => {
            const at = (i + 1) * CHECKPOINT;
            assert.equal(digestOf(state), headed(algorithm, LENGTH, text.subarray(0, at)).digest('hex'), `${what}: state ${i + 1}, after ${at} bytes`);
          });
          assert.equal(blob, blobId(algorithm, text), what);
        }
      }
    }
    // Exactly 1 MiB (= 2 CHECKPOINTs): a state at its end too, the hash of the whole text before the digest.
    const mib = text.subarray(0, MIB);
    const exact = hash('sha1', MIB, piecesOf(mib, [CHECKPOINT - 1]));
    assert.equal(exact.states?.length, MIB / CHECKPOINT);
    assert.equal(digestOf(exact.states!.at(-1)!), exact.blob);
    assert.equal(exact.blob, blobId('sha1', mib));
    // Under 1 MiB: no states, whatever its checkpoints.
    const small = text.subarray(0, MIB - 1);
    const under = hash('sha256', MIB - 1, piecesOf(small, [CHECKPOINT]), Buffer.alloc(MIB - 1));
    assert.equal(under.states, undefined);
    assert.equal(under.blob, blobId('sha256', small));
  });

  it('started from a state: the right id and states, the bytes before it copied into `into`, not hashed, and the start\'s states left as they were', () => {
    for (const algorithm of ALGORITHMS) {
      const kept = hash(algorithm, LENGTH, [text]).states!;
      const keptDigests = kept.map(digestOf);
      for (const k of [1, 2, kept.length]) {
        const at = k * CHECKPOINT;
        // The new text: the old one's first `at` bytes, then others (the first of them changed for sure).
        const next = Buffer.from(text);
        randomFillSync(next, at);
        next[at] = text[at]! ^ 1;
        const start: HashStart = { at, states: kept.slice(0, k) };
        // Cut before, on and after the start, and across it; each first piece ends under `at`.
        for (const cuts of [[], [at], [at - 1], [at - CHECKPOINT + 1, at + 1], [1, at, at, Math.min(at + CHUNK + 7, LENGTH)]]) {
          const what = `${algorithm}, from ${at}, cut at ${cuts.join(' ')}`;
          const into = Buffer.alloc(LENGTH + 3, 0xee);
          const { blob, states } = hash(algorithm, LENGTH, piecesOf(next, cuts), into, start);
          assert.equal(blob, blobId(algorithm, next), what);
          assert.ok(into.subarray(0, LENGTH).equals(next), `${what}: every byte written into \`into\``);
          assert.ok(into.subarray(LENGTH).every((b) => b === 0xee), `${what}: nothing after the text`);
          // The states: the start's own (shared), then the new text's.
          assert.ok(states !== undefined, what);
          assert.equal(states.length, Math.floor(LENGTH / CHECKPOINT), what);
          for (let i = 0; i < k; i++) assert.equal(states[i], kept[i], `${what}: state ${i + 1} is the start's`);
          states.forEach((state, i) => assert.equal(digestOf(state), headed(algorithm, LENGTH, next.subarray(0, (i + 1) * CHECKPOINT)).digest('hex'), `${what}: state ${i + 1}`));
          assert.equal(hash(algorithm, LENGTH, [next], undefined, start).blob, blobId(algorithm, next), `${what}, no into`);
        }
        // Bytes before the start are not hashed: other bytes there give the same id (that of the
        // vouched-for prefix), and are still what is copied into `into`.
        const garbled = Buffer.from(next);
        randomFillSync(garbled, 0, at);
        garbled[0] = next[0]! ^ 1;
        const into = Buffer.alloc(LENGTH);
        assert.equal(hash(algorithm, LENGTH, piecesOf(garbled, [at - 5]), into, start).blob, blobId(algorithm, next), `${algorithm}, from ${at}: the prefix not hashed`);
        assert.ok(into.equals(garbled), `${algorithm}, from ${at}: the prefix copied as given`);
      }
      assert.deepEqual(kept.map(digestOf), keptDigests, `${algorithm}: the kept states unchanged by the texts started from them`);
    }
  });

  it('pieces past the length: feed() throws, nothing of that piece hashed or written, and the right pieces after still give the id; too few bytes: finish() throws', () => {
    for (const algorithm of ALGORITHMS) {
      for (const start of [undefined, { at: CHECKPOINT, states: hash(algorithm, LENGTH, [text]).states!.slice(0, 1) }]) {
        const what = `${algorithm}${start ? ', started' : ''}`;
        const into = Buffer.alloc(LENGTH, 0xee);
        const hasher = new BlobIdHasher(algorithm, LENGTH, into, start);
        hasher.feed(text.subarray(0, 1000));
        // One byte too many, starting before the start state (copied only) and after it.
        assert.throws(() => hasher.feed(Buffer.alloc(LENGTH - 1000 + 1, 1)), new RegExp(`pieces of more than ${LENGTH} bytes`), what);
        assert.ok(into.subarray(1000).every((b) => b === 0xee), `${what}: nothing of it written`);
        hasher.feed(text.subarray(1000, CHECKPOINT + 10));
        assert.throws(() => hasher.feed(Buffer.alloc(LENGTH - CHECKPOINT - 10 + 1, 2)), /more than/, what);
        assert.ok(into.subarray(CHECKPOINT + 10).every((b) => b === 0xee), `${what}: nothing of it written`);
        hasher.feed(text.subarray(CHECKPOINT + 10));
        // Nothing of the refused pieces hashed either: the id is the text's.
        assert.equal(hasher.finish().blob, blobId(algorithm, text), what);
        assert.ok(into.equals(text), what);
        assert.throws(() => hasher.feed(Buffer.of(0)), /more than/, `${what}: not one byte more`);

        // Too few: finish() throws, saying how many came.
        const short = new BlobIdHasher(algorithm, LENGTH, undefined, start);
        short.feed(text.subarray(0, LENGTH - 1));
        assert.throws(() => short.finish(), new RegExp(`pieces of ${LENGTH - 1} bytes, not ${LENGTH}`), what);
        assert.throws(() => new BlobIdHasher(algorithm, LENGTH, undefined, start).finish(), new RegExp(`pieces of 0 bytes, not ${LENGTH}`), `${what}: none`);
      }
    }
  });
});
