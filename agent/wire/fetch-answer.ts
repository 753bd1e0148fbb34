/**
 * What the answer to a fetch says, checked against what the agent asked for (pure): the ruleset's
 * bytes within the agent's limits, proof bytes only when asked, and a delta rebuilt over the
 * bytes the agent offered. A delta that cannot be trusted (deltaRefusal) makes the wire client
 * fetch the whole ruleset instead (agent/wire/wire-client.ts).
 */
import { NftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { knownBlobId } from '../known-blob-id.js';
import { MAX_HEADER_BYTES } from '../../shared/wire/message-codec.js';
import type { ProofEntry, ServerMessage } from '../../shared/wire/messages.js';
import { lineIndex, rebuildFromRulesetDelta, type LineEdit, type RebuiltRuleset } from '../../shared/wire/ruleset-delta.js';
import type { ProofObject } from '../../shared/release/release-proof.js';
import { AGENT_DEFAULTS } from '../defaults.js';
import type { ShiftedAlloc } from '../../shared/bytes/join-pieces.js';

/** Room for a release proof's git objects (tags, commit, two trees: about 35 KB per 1,000 rulesets). */
export const PROOF_ALLOWANCE_BYTES = AGENT_DEFAULTS.wire.proofAllowanceBytes;

export type FetchResult =
  | {
      kind: 'ruleset';
      ref: string;
      tag?: string;
      ruleset: string;
      commit: string;
      blob: string;
      bytes: Buffer;
      proof?: ProofObject[];
      /**
       * The bytes were rebuilt from a delta against `base`, which took `wireBytes` on the wire;
       * `edits` say where they differ from the base (a hint for the minimal transaction).
       */
      delta?: { base: string; wireBytes: number; edits?: LineEdit[] };
      /** The server's delta was refused (why), and these bytes came whole from a second fetch. */
      deltaRefused?: string;
      /**
       * Set when the bytes were rebuilt from a delta and their blob id is still being computed (in
       * a worker thread, while the agent plans the apply: agent/wire/delta-answers.ts). Resolves
       * with undefined once they hash to `blob`, or with the whole ruleset fetched instead (its
       * `deltaRefused` set) when they do not. Nothing of this result may reach nft or the state
       * directory before it resolved undefined (agent/reconcile/plan-checked.ts), but for the
       * pending mark of the early path (agent/reconcile/early-apply.ts markEarly), which names the
       * revision, not its bytes, and is taken back when the check fails. Memoised; rejects as a
       * fetch does (the second fetch failed).
       */
      blobCheck?: () => Promise<FetchResult | undefined>;
      /** Asked with checkBehind: whether the server lacks the agent's commit (a lagging replica). */
      behind?: boolean;
    }
  | { kind: 'unchanged'; ref: string; tag?: string; ruleset: string; commit: string; blob: string; behind?: boolean };

/**
 * What a fetch's answer (`message`, with its `body`) says, checked against what the agent asked
 * for: a ruleset of at most `maxRulesetBytes`, and proof bytes only when `proof` was asked (at
 * most PROOF_ALLOWANCE_BYTES). A delta is rebuilt into `asked.alloc(size, shift)` when given (memory made
 * ready ahead: agent/wire/delta-answers.ts), and then without its line index (knowLineIndex);
 * `asked.rebuilt(delta)`, when given and not undefined, is what rebuildFromRulesetDelta makes of
 * that delta against `asked.base.bytes` (worked out before the answer came); `asked.pieces`, its
 * `opts.pieces` (the rebuilt bytes' pieces, before they are copied). Pure. Errors: NFTSYNC_ERR_RULESET_TOO_LARGE, NFTSYNC_ERR_MSG_INVALID
 * (proof bytes unasked or too many), NFTSYNC_ERR_MSG_UNEXPECTED (neither ruleset nor unchanged).
 */
export function fetchResult(
  message: ServerMessage,
  body: Buffer | undefined,
  asked: {
    maxRulesetBytes: number;
    proof: boolean;
    base?: { blob: string; bytes: Buffer };
    alloc?: ShiftedAlloc;
    rebuilt?: (delta: Buffer) => RebuiltRuleset | undefined;
    pieces?: (pieces: readonly Buffer[]) => void;
  },
): FetchResult {
  if (message.type === 'ruleset' && body && message.delta !== undefined) {
    const { type: _t, id: _i, size: _s, delta, proof: _p, ...fields } = message;
    if (asked.base === undefined || delta.base !== asked.base.blob || message.proof !== undefined) {
      throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `the server sent a delta against ${delta.base}, which this agent did not offer`);
    }
    if (delta.size > asked.maxRulesetBytes) throw rulesetTooLarge(delta.size, asked.maxRulesetBytes);
    // With memory given (delta-answers.ts), the new bytes' line index is found when idle (knowLineIndex).
    // Rebuilt already (an `ahead` frame of the same delta against the same base: delta-answers.ts), or now.
    const { bytes, edits, lines } = asked.rebuilt?.(body) ?? rebuildFromRulesetDelta(asked.base.bytes, body, asked.maxRulesetBytes, lineIndexes.get(asked.base.bytes), { ...(asked.alloc && { alloc: asked.alloc, lines: false }), ...(asked.pieces && { pieces: asked.pieces }) });
    if (lines !== undefined) lineIndexes.set(bytes, lines);
    if (bytes.length !== delta.size) throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `the server's delta rebuilds ${bytes.length} bytes, not the ${delta.size} it announced`);
    // The blob id is checked as for any ruleset (agent/verify-revision.ts). The edits say where
    // the bytes differ from the base: a hint for the minimal transaction (agent/reconcile/delta-hint.ts).
    return { kind: 'ruleset', ...fields, bytes, delta: { base: delta.base, wireBytes: body.length, ...(edits && { edits }) } };
  }
  if (message.type === 'ruleset' && body) {
    const { type: _t, id: _i, size, proof: proofList, delta: _d, ...fields } = message;
    // The frame fit the allowance; each part must fit its own share too.
    if (size > asked.maxRulesetBytes) throw rulesetTooLarge(size, asked.maxRulesetBytes);
    const proofBytes = body.length - size;
    if (proofBytes > (asked.proof ? PROOF_ALLOWANCE_BYTES : 0)) {
      throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `the server sent ${proofBytes} bytes of release proof${asked.proof ? `, more than the ${PROOF_ALLOWANCE_BYTES} allowed` : ' unasked'}`);
    }
    const bytes = body.subarray(0, size);
    const proof = proofList ? splitProof(proofList, body.subarray(size)) : undefined;
    return { kind: 'ruleset', ...fields, bytes, ...(proof && { proof }) };
  }
  if (message.type === 'unchanged') {
    const { type: _t, id: _i, ...fields } = message;
    return { kind: 'unchanged', ...fields };
  }
  throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `fetch answered with ${message.type}`);
}

/**
 * The line index of bytes rebuilt from a delta (shared/wire/ruleset-delta.ts lineIndex), by the
 * very Buffer, for as long as it is held: the next delta against those bytes (the revision in
 * force by then) finds its runs of lines without searching 20 MB for a million `\n`. 4 bytes a
 * line (4 MB for a 1,000,000-element set).
 */
const lineIndexes = new WeakMap<Buffer, Uint32Array>();

/**
 * Find and remember the line index of `bytes` (the revision in force) unless it is known: a
 * delta rebuilt into given memory leaves it to this, called when the agent is idle (about 15 ms
 * for 1,000,000 lines), so the next delta against them finds its runs without searching. Never throws.
 */
export function knowLineIndex(bytes: Buffer): void {
  if (!lineIndexes.has(bytes)) lineIndexes.set(bytes, lineIndex(bytes));
}

/** The line index of these very bytes, when remembered (knowLineIndex, or a rebuild's). */
export function knownLineIndex(bytes: Buffer): Uint32Array | undefined {
  return lineIndexes.get(bytes);
}

/** True when the line index of these very bytes is remembered (tests). */
export function lineIndexKnown(bytes: Buffer): boolean {
  return lineIndexes.has(bytes);
}

/** The frame limit while a fetch is outstanding (asked as in fetchResult). */
export function fetchFrameAllowance(asked: { maxRulesetBytes: number; proof: boolean }): number {
  return MAX_HEADER_BYTES + 1 + asked.maxRulesetBytes + (asked.proof ? PROOF_ALLOWANCE_BYTES : 0);
}

/** NFTSYNC_ERR_RULESET_TOO_LARGE for an answer of `bytes` over the agent's `limit`. */
export function rulesetTooLarge(bytes: number, limit: number): NftSyncError {
  return new NftSyncError(
    'NFTSYNC_ERR_RULESET_TOO_LARGE',
    `the server's answer is ${bytes} bytes, more than this agent accepts (a ruleset of at most ${limit} bytes); refused unread. If the ruleset really is that big, raise --max-ruleset-bytes`,
    { data: { bytes, limit } },
  );
}

/** The proof objects after the ruleset's bytes (the codec has checked the sizes add up). */
function splitProof(entries: readonly ProofEntry[], rest: Buffer): ProofObject[] {
  let at = 0;
  return entries.map((e) => {
    const content = rest.subarray(at, at + e.size);
    at += e.size;
    return { type: e.type, id: e.id, content };
  });
}

/**
 * Why the answer to a fetch that offered a base (`delta` asked) must not be used as it came, so
 * the whole ruleset is fetched instead: the answer was a delta and it was refused (`error`:
 * malformed, against another base, rebuilding another length or more than the agent accepts),
 * or the bytes it rebuilt do not hash to the blob announced. Undefined when the answer may be
 * used: not a delta, or a delta rebuilt into bytes of the right blob id (checked here, before
 * anything else reads them, and again where they are verified). Never throws.
 */
export function deltaRefusal(message: ServerMessage, answer: { result?: FetchResult; error?: NftSyncError }): string | undefined {
  if (message.type !== 'ruleset' || message.delta === undefined) return undefined;
  if (answer.error !== undefined) return `${answer.error.code}: ${answer.error.message}`;
  const r = answer.result;
  if (r?.kind === 'ruleset' && knownBlobId(r.bytes, objectIdAlgorithm(r.blob)) !== r.blob) return `the bytes rebuilt from the server's delta against ${message.delta.base} do not hash to blob ${r.blob}`;
  return undefined;
}
