/**
 * One text hashed as a git blob by the blob-id worker (host/blob-id-worker.ts), fed in order as
 * the ranges it is made of, optionally joined into shared memory as it is hashed (`into`), and
 * optionally resumed from a kept state (host/blob-id-checkpoints.ts): the bytes before that state
 * are only copied into `into`, not hashed. A text of 1 MiB or more keeps a copy of its state every
 * CHECKPOINT bytes, for the next text to resume from.
 */
import { createHash, type Hash } from 'node:crypto';
import { CHECKPOINT, type HashStart } from './blob-id-checkpoints.js';

/** Bytes hashed then copied at a time when joining (`into`): small enough to be still cached for the copy. */
const CHUNK = 256 * 1024;
/** Smaller texts keep no states: they go to the worker only as part of a bigger one's pieces anyway. */
const CHECKPOINTED_MIN_BYTES = 1 << 20;

export class BlobIdHasher {
  readonly #hash: Hash;
  readonly #length: number;
  readonly #into: Uint8Array | undefined;
  /** The first byte hashed: those before are the start state's. */
  readonly #from: number;
  /** The states after k*CHECKPOINT bytes, k = 1, 2...; none for a small text. */
  readonly #states: Hash[] | undefined;
  /** Bytes of the text fed so far. */
  #at = 0;

  /**
   * A text of `length` bytes, hashed under `algorithm`, written into `into` (its first `length`
   * bytes) when given, and hashed from `start` when given (which the caller vouches for).
   */
  constructor(algorithm: 'sha1' | 'sha256', length: number, into: Uint8Array | undefined, start: HashStart | undefined) {
    this.#hash = start === undefined ? createHash(algorithm).update(`blob ${length}\0`) : start.states.at(-1)!.copy();
    this.#length = length;
    this.#into = into;
    this.#from = start?.at ?? 0;
    this.#states = length < CHECKPOINTED_MIN_BYTES ? undefined : [...(start?.states ?? [])];
  }

  /** The next `bytes` of the text. Throws when they go past its length (nothing of them hashed or written). */
  feed(bytes: Uint8Array): void {
    if (this.#at + bytes.length > this.#length) throw new Error(`pieces of more than ${this.#length} bytes`);
    const into = this.#into;
    // Before the start state: copied only, in one call.
    const copied = Math.min(bytes.length, Math.max(0, this.#from - this.#at));
    if (copied > 0) {
      into?.set(bytes.subarray(0, copied), this.#at);
      this.#at += copied;
    }
    for (let i = copied; i < bytes.length; ) {
      let end = into === undefined ? bytes.length : Math.min(bytes.length, i + CHUNK);
      if (this.#states !== undefined) end = Math.min(end, i + CHECKPOINT - (this.#at % CHECKPOINT));
      const chunk = bytes.subarray(i, end);
      this.#hash.update(chunk);
      into?.set(chunk, this.#at);
      this.#at += chunk.length;
      i = end;
      if (this.#states !== undefined && this.#at % CHECKPOINT === 0) this.#states.push(this.#hash.copy());
    }
  }

  /** The blob id, and the states to keep under it (none for a small text). Throws when fewer bytes than the length were fed. */
  finish(): { blob: string; states: readonly Hash[] | undefined } {
    if (this.#at !== this.#length) throw new Error(`pieces of ${this.#at} bytes, not ${this.#length}`);
    return { blob: this.#hash.digest('hex'), states: this.#states };
  }
}
