/**
 * The agent's side of a delta answer, made quick for big rulesets (issue 10: a 1,000-element
 * change to a 1,000,000-element set in force within 1.5 x raw nft + 50 ms, server and agent
 * together). The costs of a 25 MB text go off the path from the answer to nft:
 *
 * - the page faults of fresh memory (15-25 ms): the bytes are rebuilt into a block whose pages
 *   were touched while the agent was idle (`idle`, after each pass: shared/bytes/spare-buffer.ts),
 *   and their line index (for the next delta) is found then too, not while rebuilding (5-10 ms);
 * - the SHA-1 of the rebuilt bytes (14-22 ms): computed in a worker thread (host/blob-id-thread.ts)
 *   while the agent plans the apply, from the pieces the bytes are joined from (the bytes in
 *   force, when they lie in shared memory, and the delta's lines), so it starts before the copy.
 *   The result then carries `blobCheck`, and nothing of it
 *   reaches nft or the state directory before that check has passed (agent/reconcile/
 *   plan-checked.ts); bytes that do not hash to the announced blob are never used: the whole
 *   ruleset is fetched instead, as for any delta refused.
 * - the wait for the server's own blob id (protocol version 2): a branch moved by the element
 *   API comes with an `ahead` frame, the delta against the revision in force, before `moved`
 *   and before the server has hashed the new text (server/git/element-tips.ts). The bytes are
 *   rebuilt and hashed from it at once (`ahead`), while the server hashes too; the fetch's
 *   answer, which alone names the blob id, takes them when it carries the very same delta
 *   against the same base and commit, else they are dropped and the answer rebuilt as usual.
 *   Nothing of an `ahead` frame is acted on but through that answer.
 *
 * Below SPARE_MIN_BYTES nothing of this is worth it: the bytes go in a plain Buffer and are
 * hashed at once, as before.
 */
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { SpareBuffer } from '../../shared/bytes/spare-buffer.js';
import { joinLayout, joinPieces, shiftedBuffer } from '../../shared/bytes/join-pieces.js';
import { AHEAD_MAX_DELTA_BYTES, type AheadMessage, type ServerMessage } from '../../shared/wire/messages.js';
import { rebuildFromRulesetDelta, type RebuiltRuleset } from '../../shared/wire/ruleset-delta.js';
import { BlobIdThread } from '../../host/blob-id-thread.js';
import { rememberBlobId, rememberedBlobId } from '../known-blob-id.js';
import { deltaRefusal, fetchResult, knowLineIndex, knownLineIndex, type FetchResult } from './fetch-answer.js';

/** Rulesets smaller than this are rebuilt into a plain Buffer and hashed at once. */
export const SPARE_MIN_BYTES = 1 << 20;

/** What fetchResult made of an answer (or its error), and why it must not be used (undefined: it may). */
export interface ReadAnswer {
  result?: FetchResult;
  error?: NftSyncError;
  /** deltaRefusal's verdict; for a big delta rebuilt, computed in the worker (never rejects). */
  refusal: Promise<string | undefined>;
}

/** An `ahead` frame's delta, rebuilt over the bytes in force and being hashed. */
interface AheadRebuilt {
  commit: string;
  ruleset: string;
  /** The bytes it was rebuilt over, and their blob id. */
  base: Buffer;
  baseBlob: string;
  /** The delta as it came (a copy). */
  delta: Buffer;
  rebuilt: RebuiltRuleset;
  /** The blob id of the rebuilt bytes, in the worker. */
  id: Promise<string>;
  /**
   * Set while the worker still joins the rebuilt bytes as it hashes them (they are there once it
   * resolves, and it is cleared then): read() does not take them before (`settled`).
   */
  writing?: Promise<unknown>;
}

/**
 * Where the hash of the text `runs` rebuild (joined by `\n`) may go on from the worker's state for
 * `base` (blob id `blob`, hashed by the same worker before: host/blob-id-thread.ts): the first
 * run is `base`'s own first bytes (the delta's leading `=`), so the texts share those bytes.
 * Undefined when it is not.
 */
function resumeFrom(runs: readonly Buffer[], base: Buffer, blob: string): { blob: string; same: number } | undefined {
  const first = runs[0];
  if (first === undefined || first.length === 0 || first.buffer !== base.buffer || first.byteOffset !== base.byteOffset) return undefined;
  return { blob, same: first.length };
}

export class DeltaAnswers {
  readonly #spare = new SpareBuffer();
  readonly #ids = new BlobIdThread();
  /** The bytes in force (idle), the base an `ahead` frame's delta may apply to. */
  #inForce: Buffer | undefined;
  /** The last `ahead` frame rebuilt, until an answer takes it (or not) or another replaces it. */
  #ahead: AheadRebuilt | undefined;
  /** An `ahead` frame's bytes are being hashed: the next one waits for no one and is dropped. */
  #aheadHashing = false;
  /** Answers that took the bytes (and hash) of an `ahead` frame rather than rebuilding (tests, metrics). */
  aheadTaken = 0;

  /** Bytes of rebuilt texts whose hash went on from the state kept for the bytes in force rather than being hashed again (tests, metrics). */
  get resumedBytes(): number {
    return this.#ids.resumedBytes;
  }

  /**
   * An `ahead` frame (`message`, its delta `body`): when the delta (at most AHEAD_MAX_DELTA_BYTES)
   * applies to the bytes in force (their blob id is `message.base`) and rebuilds `message.target`
   * bytes of SPARE_MIN_BYTES to `maxRulesetBytes`, they are rebuilt (into the spare block) and
   * their blob id computed in the worker now, for the fetch's answer to take (read). Anything else,
   * and anything that fails, is dropped without a word (a size that does not fit, before anything
   * is copied): the answer is rebuilt as usual. At most one is kept, until an answer takes or
   * drops it or the agent is idle again; none is rebuilt while another is hashed. Returns what was
   * rebuilt (its `edits` are the very array the answer that takes it carries; its `bytes` are the
   * worker's to write until `settled` says they are there: read nothing of them before), else
   * undefined. Never throws.
   */
  ahead(message: AheadMessage, body: Buffer, maxRulesetBytes: number): RebuiltRuleset | undefined {
    const base = this.#inForce;
    // One at a time, and one per pass: another waits for an answer (read) or the next idle to take or drop this one.
    if (base === undefined || this.#ahead !== undefined || this.#aheadHashing) return undefined;
    if (body.length > AHEAD_MAX_DELTA_BYTES || message.target < SPARE_MIN_BYTES || message.target > maxRulesetBytes) return undefined;
    try {
      const algorithm = objectIdAlgorithm(message.base);
      if (rememberedBlobId(base, algorithm) !== message.base) return undefined;
      // The pieces (the bytes in force and the delta's lines) are joined into the spare block by
      // the worker as it hashes them: this thread copies nothing, and the bytes are there once
      // the id is (`written`). Memory is asked for once the size is known, before a byte is
      // copied: another size stops there.
      let written: Promise<string> | undefined;
      const join = (runs: readonly Buffer[]): Buffer => {
        const { size, shift } = joinLayout(runs, true);
        if (size !== message.target) throw new RangeError(`the ahead delta rebuilds ${size} bytes, not ${message.target}`);
        const into = this.#spare.take(size, shift);
        written = this.#ids.joinInto(runs, 10, algorithm, into, resumeFrom(runs, base, message.base));
        return written === undefined ? joinPieces(runs, { separator: 10, alloc: () => into }) : into;
      };
      const rebuilt = rebuildFromRulesetDelta(base, body, maxRulesetBytes, knownLineIndex(base), { lines: false, join });
      this.#aheadHashing = true;
      const id = written ?? this.#ids.id(rebuilt.bytes, algorithm);
      void id.finally(() => (this.#aheadHashing = false));
      const ahead: AheadRebuilt = { commit: message.commit, ruleset: message.ruleset, base, baseBlob: message.base, delta: Buffer.from(body), rebuilt, id };
      if (written !== undefined) ahead.writing = written.then(() => delete ahead.writing);
      this.#ahead = ahead;
      return rebuilt;
    } catch {
      // Not rebuilt ahead: the answer is.
      return undefined;
    }
  }

  /**
   * What to wait for before read() of the answer `message`: the bytes of the `ahead` frame it may
   * take, while the worker still joins them (undefined: nothing, read now). Never rejects.
   */
  settled(message: ServerMessage): Promise<unknown> | undefined {
    const ahead = this.#ahead;
    if (ahead?.writing === undefined || message.type !== 'ruleset' || message.commit !== ahead.commit || message.ruleset !== ahead.ruleset) return undefined;
    return ahead.writing;
  }

  /**
   * fetchResult(message, body, asked) for an answer to a fetch that offered `asked.base`, and its
   * deltaRefusal verdict: a delta of SPARE_MIN_BYTES or more is rebuilt into the spare block (when
   * one is ready) and its blob id computed in the worker; the id is remembered for the bytes
   * (agent/known-blob-id.ts) once known. Never throws (fetchResult's error is in `error`).
   */
  read(message: ServerMessage, body: Buffer | undefined, asked: { maxRulesetBytes: number; proof: boolean; base: { blob: string; bytes: Buffer } }): ReadAnswer {
    let answer: { result?: FetchResult; error?: NftSyncError };
    // An `ahead` frame serves one answer at most: this one, if it is the same delta over the same
    // bytes, and its bytes are written (the caller waited for `settled`; else they are not taken).
    const ahead = this.#ahead?.writing === undefined ? this.#ahead : undefined;
    this.#ahead = undefined;
    const fits = ahead !== undefined && message.type === 'ruleset' && message.delta?.base === ahead.baseBlob && message.commit === ahead.commit && message.ruleset === ahead.ruleset && asked.base.bytes === ahead.base;
    const rebuilt = fits ? (delta: Buffer) => (delta.equals(ahead.delta) ? ahead.rebuilt : undefined) : undefined;
    // A big delta rebuilt here is hashed from its pieces while they are copied (as an ahead frame's).
    let fromPieces: Promise<string> | undefined;
    const pieces = (runs: readonly Buffer[]): void => {
      if (message.type === 'ruleset' && message.delta !== undefined) fromPieces = this.#ids.idOfPieces(runs, 10, objectIdAlgorithm(message.blob), message.delta.size, resumeFrom(runs, asked.base.bytes, asked.base.blob));
    };
    try {
      answer = { result: fetchResult(message, body, { ...asked, alloc: (size, shift) => (size >= SPARE_MIN_BYTES ? this.#spare.take(size, shift) : shiftedBuffer(size, shift)), pieces, ...(rebuilt && { rebuilt }) }) };
    } catch (err) {
      answer = { error: toNftSyncError(err, 'NFTSYNC_ERR_MSG_INVALID') };
    }
    const r = answer.result;
    if (message.type !== 'ruleset' || message.delta === undefined || r?.kind !== 'ruleset' || r.bytes.length < SPARE_MIN_BYTES) {
      return { ...answer, refusal: Promise.resolve(deltaRefusal(message, answer)) };
    }
    const algorithm = objectIdAlgorithm(r.blob);
    // The bytes an `ahead` frame rebuilt have been hashing since it came.
    const took = ahead !== undefined && r.bytes === ahead.rebuilt.bytes && objectIdAlgorithm(ahead.baseBlob) === algorithm;
    if (took) this.aheadTaken += 1;
    const hashing = took ? ahead.id : (fromPieces ?? this.#ids.id(r.bytes, algorithm));
    const refusal = hashing.then((id) => {
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
    if (this.#ahead !== undefined && this.#ahead.base !== inForce) this.#ahead = undefined;
    this.#inForce = inForce.length < SPARE_MIN_BYTES ? undefined : inForce;
    if (inForce.length < SPARE_MIN_BYTES) return;
    this.#spare.prepare(inForce.length);
    knowLineIndex(inForce);
    this.#ids.warm();
  }

  /** Let go of the spare block and stop the worker. */
  async close(): Promise<void> {
    this.#ahead = undefined;
    this.#inForce = undefined;
    this.#spare.prepare(0);
    await this.#ids.close();
  }
}
