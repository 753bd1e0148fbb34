/**
 * Starting nft before the plan is made, for the change that matters most on a big ruleset: a
 * blocklist's elements added and deleted (issue 10: 1,000 elements on a 1,000,000-element set in
 * force within 1.5 x raw nft + 50 ms of the API call). The plan builds the new ruleset from the
 * one in force (a 1,000,000-element array copied), proves the hint and plans the transaction:
 * 15-25 ms here. When the delta's line edits prove on their own that only hash-set elements
 * changed, the transaction's batch is known from them in well under a millisecond
 * (delta-hint.ts earlyElementBatch), so nft runs while the plan is made.
 *
 * Nothing is given up for it:
 * - the bytes are proven first: their blob id check (FetchResult.blobCheck) has passed before
 *   nft is given anything or the bytes are staged (plan-checked.ts); bytes that came without
 *   one are hashed (or their id, known already, compared) before the early path is chosen;
 * - the revision is marked pending before nft starts, as apply-step.ts does, so a crash from here
 *   on is restored over at the next start (the mark is written while the blob id is computed, and
 *   taken back if the bytes fail);
 * - the plan is still made, with every check it makes, and the early batch stands only if it is
 *   the plan's own, to the byte (apply-ruleset.ts compares them). If not, the full replacement
 *   follows once nft ended, as after a delta nft refused: the host ends as the plan says.
 * The early path is taken only where the plan could not end the pass otherwise: no pending mark
 * left over, no failed revision skipped, no drift outstanding, no table to create, no dry run
 * asked for (--check), nothing held from a publish (host-holds.ts).
 */
import type { ConfirmedRevision } from './confirm-revision.js';
import type { LineEdit } from '../../shared/wire/ruleset-delta.js';
import type { NftCommandBatch } from '../../shared/ruleset/apply-plan.js';
import { toNftSyncError, type NftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { knownBlobId } from '../known-blob-id.js';
import type { TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { TablePattern } from '../../shared/ruleset/table-pattern.js';
import type { AgentState } from '../state/state-store.js';
import { managedTables } from '../../shared/ruleset/ruleset-schema.js';
import { stateWithPending } from '../state/transitions.js';
import { tablesToCreate } from '../../shared/ruleset/apply-plan.js';
import { isNftRefusal } from '../../host/nft-runner.js';
import { ownedWithAdopted } from './claim-tables.js';
import { earlyElementBatch } from './delta-hint.js';
import { deltaBase } from './delta-base.js';
import type { PassContext } from './reconcile-step.js';
import type { Verified } from './verify-step.js';

/** An element batch given to nft before the plan was made. */
export interface EarlyApply {
  /** The batch, serialised as nft was given it. */
  batch: string;
  /** How nft ended: undefined once the transaction committed, else its error. Never rejects. */
  done: Promise<NftSyncError | undefined>;
}

/** What an early start gives nft, and the tables its pending mark names. */
export interface EarlyBatch {
  /** The batch, serialised. */
  batch: string;
  /** The tables the revision declares: those in force, as an element change keeps them. */
  tables: TableRef[];
  /** The state it was chosen from (no pending mark): the plan's, and the one put back if the bytes fail. */
  before: AgentState;
}

/**
 * The batch to start before the plan of `verified`, or undefined when the pass must plan first
 * (see the file comment). Reads the state, runs nothing. Never throws.
 */
export function earlyBatch(ctx: PassContext, verified: Verified): EarlyBatch | undefined {
  const { opts, inForce } = ctx;
  const { fetched } = verified;
  const edits = fetched.delta?.edits;
  if (edits === undefined || inForce === undefined || fetched.delta?.base !== inForce.blob || fetched.ruleset !== inForce.ruleset) return undefined;
  // Bytes whose blob id nothing is computing (no blobCheck: the wire client hashed them already,
  // so this costs nothing there) are proven here, before the mark and nft: the plan would check
  // them only once nft had started. Bytes of another blob go the usual way, refused by the plan.
  if (fetched.blobCheck === undefined && knownBlobId(fetched.bytes, objectIdAlgorithm(fetched.blob)) !== fetched.blob) return undefined;
  if (opts.check === true || ctx.held !== undefined) return undefined;
  const st = ctx.state();
  if (st === undefined || st.pending !== undefined || (st.lastFailed?.blob === fetched.blob && !ctx.retryFailed)) return undefined;
  const found = elementBatchOf(inForce, st, { drifted: ctx.drifted, adoptTables: opts.adoptTables }, edits);
  return found && { batch: JSON.stringify(found.batch), tables: found.declared, before: st };
}

/** The element batch of `edits` against `inForce` for a host in state `st`, and the tables the revision declares; undefined when there is none. Never throws. */
function elementBatchOf(inForce: ConfirmedRevision, st: AgentState, host: { drifted: boolean; adoptTables?: readonly TablePattern[] }, edits: readonly LineEdit[]): { batch: NftCommandBatch; declared: TableRef[] } | undefined {
  const base = deltaBase(inForce, { drifted: host.drifted, pendingLeftover: false });
  if (base === undefined) return undefined;
  const declared = managedTables(base);
  const owned = ownedWithAdopted(declared, st.managedTables ?? [], host.adoptTables ?? []);
  if (tablesToCreate(declared, owned).length > 0) return undefined;
  const batch = earlyElementBatch({ bytes: inForce.bytes, blob: inForce.blob, ruleset: base }, edits, owned);
  return batch && { batch, declared };
}

/**
 * Work out now, while the agent waits for the fetch's answer, the element batch of `edits` (an
 * `ahead` frame's, against `inForce`, for a host in state `st`), so that the pass that gets them
 * in its answer finds it done (delta-hint.ts earlyElementBatch keeps it by the very edits array).
 * Nothing is given to nft or written: only the answer's pass, with every condition of
 * earlyBatch and its blob id check, may use it. Never throws.
 */
export function foreseeEarly(inForce: ConfirmedRevision, st: AgentState, host: { drifted: boolean; adoptTables?: readonly TablePattern[] }, edits: readonly LineEdit[]): void {
  elementBatchOf(inForce, st, host, edits);
}

/**
 * Mark `verified` pending, with `early.tables`. It may be written while the bytes' blob id is
 * still being computed: the mark names the revision, not its bytes, and all a restart does with
 * it is restore the revision in force over its tables, which the host still holds unless nft ran
 * (unmarkEarly takes it back when the bytes fail their check). Errors: those of ctx.save.
 */
export async function markEarly(ctx: PassContext, verified: Verified, early: EarlyBatch): Promise<void> {
  const { commit, blob, ruleset: name } = verified.fetched;
  await ctx.save(stateWithPending(ctx.state(), ctx.opts.ref, { commit, blob, ruleset: name, managedTables: early.tables, startedAt: ctx.now() }), undefined, { durable: false });
}

/** Put `before` back as the state once `marking` (markEarly) settled: nft never ran. Resolves with the error of that save, if any. */
export async function unmarkEarly(ctx: PassContext, marking: Promise<unknown>, before: AgentState): Promise<NftSyncError | undefined> {
  await marking;
  try {
    await ctx.save(before);
    return undefined;
  } catch (err) {
    return toNftSyncError(err, 'NFTSYNC_ERR_STATE_CORRUPT');
  }
}

/**
 * Start writing the bytes of `verified` to the state directory and give nft `early.batch`. Call
 * only once the bytes are proven and the revision marked (markEarly). Never throws: how nft
 * ended is in the result.
 */
export function runEarly(ctx: PassContext, verified: Verified, early: EarlyBatch): EarlyApply {
  const { blob, bytes } = verified.fetched;
  ctx.stage(blob, bytes);
  const done = ctx.opts.nft.applyJson(early.batch).then(
    () => undefined,
    (err: unknown) => toNftSyncError(err, 'NFTSYNC_ERR_NFT_EXEC'),
  );
  return { batch: early.batch, done };
}

/**
 * Whether `early` may have changed the host: it committed, or how it ended is not known (a time
 * limit, an error that is not nft's refusal). Only nft refusing the batch (NFTSYNC_ERR_NFT_APPLY,
 * atomic: nothing changed) says it did not. Waits until nft ended. Never rejects.
 */
export async function earlyMayHaveChanged(early: EarlyApply): Promise<boolean> {
  const error = await early.done;
  return !isNftRefusal(error);
}
