/**
 * The hash states the blob-id worker (host/blob-id-worker.ts) keeps of the last texts it hashed,
 * so the next text, of the same size and sharing a long prefix with one of them (the server's and
 * the agent's rulesets after a small change near the end), is hashed from the last state before
 * the change rather than from its first byte. A state is the hash after the header
 * (`blob <size>\0`) and the first k*CHECKPOINT bytes of the text, k >= 1. States are tiny
 * (a copy of the digest's context, no bytes of the text) and never updated in place, only copied,
 * so an entry may share states with the entry it resumed from.
 */
import type { Hash } from 'node:crypto';

/** Bytes of text between two kept states: a resumed text hashes at most this much of the prefix again. */
export const CHECKPOINT = 512 * 1024;
/**
 * Texts whose states are kept, the most recent first. The server's worker serves every branch and
 * ruleset, each needing the states of the text its agents hold (about 50 states, some 25 KB, for
 * 25 MB), so this many big rulesets changed in turn all go on from their last text.
 */
export const KEPT = 8;

/**
 * A caller's word that the first `same` bytes of a text are, byte for byte, those of the text
 * whose git blob id is `blob` (hashed by the same worker earlier).
 */
export interface BlobIdResume {
  blob: string;
  same: number;
}

/** Where a text's hash starts: `states.at(-1)` is the state after the header and the first `at` bytes (at = states.length * CHECKPOINT). */
export interface HashStart {
  at: number;
  states: readonly Hash[];
}

interface Entry {
  blob: string;
  length: number;
  algorithm: 'sha1' | 'sha256';
  states: readonly Hash[];
}

export class BlobIdCheckpoints {
  /** The most recent first, KEPT at most, one per blob id. */
  #entries: readonly Entry[] = [];

  /**
   * Where to start hashing a text of `length` bytes under `algorithm` that `resume` says shares
   * its first `resume.same` bytes with the text `resume.blob`: the last state kept of that text at
   * or before `same` (its states up to there, shared, not copied). Undefined, to hash the whole
   * text, when there is none: no resume, that text not kept (unknown, evicted), of another length
   * or algorithm, or `same` under CHECKPOINT. Trusts the word: a wrong `same` gives a wrong id.
   */
  start(resume: BlobIdResume | undefined, length: number, algorithm: 'sha1' | 'sha256'): HashStart | undefined {
    if (resume === undefined) return undefined;
    const entry = this.#entries.find((e) => e.blob === resume.blob);
    if (entry === undefined || entry.length !== length || entry.algorithm !== algorithm) return undefined;
    const k = Math.min(entry.states.length, Math.floor(resume.same / CHECKPOINT));
    // `!(k >= 1)`: a `same` that is not a number resumes nothing either.
    if (!(k >= 1)) return undefined;
    return { at: k * CHECKPOINT, states: entry.states.slice(0, k) };
  }

  /** Keep `states` (see HashStart) of the text `blob` of `length` bytes, first; it replaces an entry of the same id, and the oldest beyond KEPT goes. */
  keep(blob: string, length: number, algorithm: 'sha1' | 'sha256', states: readonly Hash[]): void {
    this.#entries = [{ blob, length, algorithm, states }, ...this.#entries.filter((e) => e.blob !== blob)].slice(0, KEPT);
  }
}
