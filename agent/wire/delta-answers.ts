/**
 * The agent's side of a delta answer, made quick for big rulesets (issue 10: a 1,000-element
 * change to a 1,000,000-element set in force within 1.5 x raw nft + 50 ms, server and agent together). Two costs of a 25 MB text
 * go off the path from the answer to nft:
 *
 * - the page faults of fresh memory (15-25 ms): the bytes are rebuilt into a block whose pages
 *   were touched while the agent was idle (`idle`, after each pass: shared/bytes/spare-buffer.ts),
 *   and their line index (for the next delta) is found then too, not while rebuilding (5-10 ms);
 * - the SHA-1 of the rebuilt bytes (14 ms): computed in a worker thread (host/blob-id-thread.ts)
 *   while the agent plans the apply. The result then carries `blobCheck`, and nothing of it
 *   reaches nft or the state directory before that check has passed (agent/reconcile/
 *   plan-checked.ts); bytes that do not hash to the announced blob are never used: the whole
 *   ruleset is fetched instead, as for any delta refused.
 *
 * Below SPARE_MIN_BYTES nothing of this is worth it: the bytes go in a plain Buffer and are
 * hashed at once, as before.
 */
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { SpareBuffer } from '../../shared/bytes/spare-buffer.js';
import { shiftedBuffer } from '../../shared/bytes/join-pieces.js';
import type { ServerMessage } from '../../shared/wire/messages.js';
import { BlobIdThread } from '../../host/blob-id-thread.js';
import { rememberBlobId } from '../known-blob-id.js';
import { deltaRefusal, fetchResult, knowLineIndex, type FetchResult } from './fetch-answer.js';

/** Rulesets smaller than this are rebuilt into a plain Buffer and hashed at once. */
export const SPARE_MIN_BYTES = 1 << 20;

/** What fetchResult made of an answer (or its error), and why it must not be used (undefined: it may). */
export interface ReadAnswer {
  result?: FetchResult;
  error?: NftSyncError;
  /** deltaRefusal's verdict; for a big delta rebuilt, computed in the worker (never rejects). */
  refusal: Promise<string | undefined>;
}

export class DeltaAnswers {
  readonly #spare = new SpareBuffer();
  readonly #ids = new BlobIdThread();

  /**
   * fetchResult(message, body, asked) for an answer to a fetch that offered `asked.base`, and its
   * deltaRefusal verdict: a delta of SPARE_MIN_BYTES or more is rebuilt into the spare block (when
   * one is ready) and its blob id computed in the worker; the id is remembered for the bytes
   * (agent/known-blob-id.ts) once known. Never throws (fetchResult's error is in `error`).
   */
  read(message: ServerMessage, body: Buffer | undefined, asked: { maxRulesetBytes: number; proof: boolean; base: { blob: string; bytes: Buffer } }): ReadAnswer {
    let answer: { result?: FetchResult; error?: NftSyncError };
    try {
      answer = { result: fetchResult(message, body, { ...asked, alloc: (size, shift) => (size >= SPARE_MIN_BYTES ? this.#spare.take(size, shift) : shiftedBuffer(size, shift)) }) };
    } catch (err) {
      answer = { error: toNftSyncError(err, 'NFTSYNC_ERR_MSG_INVALID') };
    }
    const r = answer.result;
    if (message.type !== 'ruleset' || message.delta === undefined || r?.kind !== 'ruleset' || r.bytes.length < SPARE_MIN_BYTES) {
      return { ...answer, refusal: Promise.resolve(deltaRefusal(message, answer)) };
    }
    const algorithm = objectIdAlgorithm(r.blob);
    const refusal = this.#ids.id(r.bytes, algorithm).then((id) => {
      rememberBlobId(r.bytes, algorithm, id);
      return deltaRefusal(message, answer);
    });
    return { ...answer, refusal };
  }

  /**
   * The agent is idle with `inForce` in force (the next delta's base): make memory ready for the
   * next delta's rebuild (its pages touched now, about 15 ms for 25 MB), index the lines of
   * `inForce` (the rebuild left that out: fetch-answer.ts knowLineIndex, about 15 ms) and start
   * the worker. Nothing for rulesets under SPARE_MIN_BYTES.
   */
  idle(inForce: Buffer): void {
    if (inForce.length < SPARE_MIN_BYTES) return;
    this.#spare.prepare(inForce.length);
    knowLineIndex(inForce);
    this.#ids.warm();
  }

  /** Let go of the spare block and stop the worker. */
  async close(): Promise<void> {
    this.#spare.prepare(0);
    await this.#ids.close();
  }
}
