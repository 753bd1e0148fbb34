/**
 * Encoded answer frames shared by every connection: when a revision reaches ten thousand agents,
 * the `moved` frame and the `ruleset` answer are each encoded once per revision and ruleset, not
 * once per agent. A ruleset answer differs between agents only in its request id, so it is kept
 * as the bytes after the id (the rest of the header, the NUL and the body); each answer is a few
 * bytes of prefix (length and `{"type":"ruleset","id":N,`) written before those shared bytes.
 * The result is byte for byte what encodeMessage writes. Bounded by total bytes (LRU).
 */
import { FRAME_HEADER_BYTES } from '../../shared/wire/frame-decoder.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { AHEAD_MAX_DELTA_BYTES, SERVER_MESSAGE_TYPES, validateMessage, type AheadMessage, type MovedMessage, type RulesetMessage } from '../../shared/wire/messages.js';
import { ByteLru } from '../git/byte-lru.js';

/** Default bytes of encoded frames kept (a few revisions of a few large rulesets). */
export const ANSWER_FRAMES_MAX_BYTES = 64 * 1024 * 1024;

/** Branches whose latest `ahead` frame is kept (the least recently primed dropped first). */
const AHEAD_BRANCHES = 16;

/** An `ahead` frame kept for a branch: the revision it moves to, and who may use it. */
export interface AheadFrame {
  /** The full ref name (`refs/heads/main`). */
  ref: string;
  commit: string;
  /** The commit `commit` was made on (its parent), whose ruleset `base` is. */
  parent: string;
  ruleset: string;
  /** The blob the delta applies to: only agents holding it are sent the frame. */
  base: string;
  /** The encoded frame. */
  frame: Buffer;
}

/** Kept for a pair of blobs with no delta worth sending (a real delta starts with its header). */
const NO_DELTA = Buffer.alloc(0);

export class AnswerFrames {
  readonly #cache: ByteLru<Buffer>;
  /** The latest `ahead` frame of each branch, by full ref name. */
  readonly #ahead = new Map<string, AheadFrame>();
  /** Frames (or shared tails) encoded so far: a cache miss each. */
  encodes = 0;
  /** Deltas worked out so far (including "none worth sending"): a cache miss each. */
  deltaEncodes = 0;

  constructor(maxBytes = ANSWER_FRAMES_MAX_BYTES) {
    // An entry's own bookkeeping counts too, so empty ones ("no delta") are bounded as well.
    this.#cache = new ByteLru(maxBytes, (b) => b.length + 64);
  }

  /**
   * The delta from blob `base` to blob `target` (shared/wire/ruleset-delta.ts), worked out by
   * `compute` once per pair and then shared: every agent of a fleet moving from one revision to
   * the next asks for the same one, and a client repeating a fetch with an old `have` costs the
   * event loop once (a million-line blocklist: 0.7 s, 2.2 s against a base that differs
   * throughout). Undefined (no delta worth sending) is kept too. The blob ids must name the
   * bytes `compute` reads.
   */
  delta(base: string, target: string, compute: () => Buffer | undefined): Buffer | undefined {
    const key = `d\0${base}\0${target}`;
    let kept = this.#cache.get(key);
    if (kept === undefined) {
      kept = compute() ?? NO_DELTA;
      this.deltaEncodes += 1;
      this.#cache.set(key, kept);
    }
    return kept === NO_DELTA || kept.length === 0 ? undefined : kept;
  }

  /**
   * Keep `delta` as the delta from blob `base` to blob `target` (undefined: none worth sending),
   * worked out ahead by whoever made `target`: the element API, before it moves the branch
   * (server/git/element-tips.ts), so the fetches of the agents it tells are answered at once.
   * It must be what `delta`'s `compute` would give (encodeRulesetDelta of the two texts). Not
   * counted in deltaEncodes (no fetch waited for it).
   */
  primeDelta(base: string, target: string, delta: Buffer | undefined): void {
    this.#cache.set(`d\0${base}\0${target}`, delta ?? NO_DELTA);
  }

  /**
   * Keep the `ahead` frame (protocol version 2) of branch `ref` (a full ref name) moving to
   * `commit` from `parent`: `delta` against blob `base` rebuilds `target` bytes of ruleset `ruleset`. Worked out
   * by the element API before it moves the branch (server/git/element-tips.ts), encoded once for
   * every connection. Replaces the branch's last one; nothing is kept for a delta over
   * AHEAD_MAX_DELTA_BYTES or a frame the agents would refuse (they close the connection on one),
   * and the branch's last one is dropped.
   */
  primeAhead(ref: string, commit: string, ahead: { parent: string; ruleset: string; base: string; target: number; delta: Buffer }): void {
    this.#ahead.delete(ref);
    if (ahead.delta.length > AHEAD_MAX_DELTA_BYTES) return;
    // The branch's short name: `refs/heads/` and a 255-character name would pass the field's limit.
    const msg: AheadMessage = { type: 'ahead', ref: ref.replace(/^refs\/heads\//, ''), ruleset: ahead.ruleset, commit, base: ahead.base, size: ahead.delta.length, target: ahead.target };
    try {
      // Checked as the agents will check it: a frame they would refuse would cost them the connection.
      validateMessage(msg, SERVER_MESSAGE_TYPES);
    } catch {
      return;
    }
    this.#ahead.set(ref, { ref, commit, parent: ahead.parent, ruleset: ahead.ruleset, base: ahead.base, frame: encodeMessage(msg, ahead.delta) });
    for (const oldest of this.#ahead.keys()) {
      if (this.#ahead.size <= AHEAD_BRANCHES) break;
      this.#ahead.delete(oldest);
    }
  }

  /**
   * The `ahead` frame kept for the ref an agent follows as `key` (`main` or `refs/heads/main`)
   * moving to `commit`; undefined when none is kept for that commit.
   */
  ahead(key: string, commit: string): AheadFrame | undefined {
    const kept = this.#ahead.get(key) ?? this.#ahead.get(`refs/heads/${key}`);
    return kept?.commit === commit ? kept : undefined;
  }

  /** The `moved` frame for `msg`, encoded once per distinct message. */
  moved(msg: MovedMessage): Buffer {
    const key = `m\0${JSON.stringify(msg)}`;
    let frame = this.#cache.get(key);
    if (frame === undefined) {
      frame = encodeMessage(msg);
      this.encodes += 1;
      this.#cache.set(key, frame);
    }
    return frame;
  }

  /**
   * The frame of a `ruleset` answer without a proof, as parts to write in order: a prefix of this
   * answer's own and the bytes shared by every answer of the same header and body. `body` must be
   * the bytes whose blob id is `msg.blob` (the key trusts the blob id to name the body).
   */
  ruleset(msg: Omit<RulesetMessage, 'proof'>, body: Buffer): Buffer[] {
    const { type: _type, id, ...rest } = msg;
    const restJson = JSON.stringify(rest);
    const key = `r\0${restJson}`;
    let tail = this.#cache.get(key);
    if (tail === undefined) {
      // `{"ref":…}` without its opening brace, then NUL and the body.
      const head = Buffer.from(`${restJson.slice(1)}\0`, 'utf8');
      tail = Buffer.concat([head, body]);
      this.encodes += 1;
      this.#cache.set(key, tail);
    }
    const prefixJson = Buffer.from(`{"type":"ruleset","id":${id},`, 'utf8');
    const prefix = Buffer.allocUnsafe(FRAME_HEADER_BYTES + prefixJson.length);
    prefix.writeUInt32BE(prefixJson.length + tail.length, 0);
    prefixJson.copy(prefix, FRAME_HEADER_BYTES);
    return [prefix, tail];
  }
}
