/**
 * Reconcile step "plan": decide whether and how to apply a verified revision. A revision that
 * failed before is skipped (unless asked to retry); the bytes are turned into a ruleset (their
 * blob id re-checked, the schema validated: verify-revision.ts); the tables the transaction may
 * replace are worked out (the revision in force's, and any a pending mark still names), and a
 * declared table someone else owns is refused before anything changes (claim-tables.ts).
 * Bytes rebuilt from a delta whose blob id is still being computed (FetchResult.blobCheck) are
 * planned without that check: plan-checked.ts awaits it before the plan, or its end, is used.
 */
import { isErrorCode, toNftSyncError } from '../../shared/errors.js';
import { managedTables } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { AgentState, PendingRevision } from '../state/state-store.js';
import type { EarlyApply } from './early-apply.js';
import { assertTablesFree } from './claim-tables.js';
import { endPass, next, refusePass, type PassContext, type StepResult } from './reconcile-step.js';
import type { Verified } from './verify-step.js';
import type { ElementHint } from '../../shared/ruleset/element-hint.js';
import { verifyRevision } from './verify-revision.js';
import { verifyWithHint, type HintBase } from './delta-hint.js';

/** What the apply step does. */
export interface Plan extends Verified {
  ruleset: Ruleset;
  /** Tables the transaction may replace or delete (previouslyManaged). */
  owned: TableRef[];
  /** Tables the revision will own once applied: the pending mark names them. */
  newTables: TableRef[];
  /** The pending mark before this attempt (it comes back if nft refuses). */
  priorPending?: PendingRevision;
  /** Which elements changed from the revision in force, when the bytes came as a delta against it (delta-hint.ts). */
  hint?: ElementHint;
  /** nft was given the element batch before this plan was made, and the revision marked pending (early-apply.ts). */
  early?: EarlyApply;
}

/**
 * Plan the apply of `verified`, from the state `st` (ctx.state(), unless an early start marked
 * this revision pending already: the state before that mark). Ends the pass `skipped` (a known
 * failed blob), or as refused (stateAfterRefusal: bad bytes are recorded as failed, a foreign
 * table is not; a listing that failed changes nothing). Never throws.
 */
export async function planStep(ctx: PassContext, verified: Verified, st: AgentState | undefined = ctx.state()): Promise<StepResult<Plan>> {
  const { opts } = ctx;
  const { commit, blob, ruleset: name } = verified.fetched;
  const failed = st?.lastFailed;
  if (failed && failed.blob === blob && !ctx.retryFailed) {
    const error = { code: isErrorCode(failed.code) ? failed.code : ('NFTSYNC_ERR_NFT_APPLY' as const), message: failed.message };
    return endPass({ outcome: { kind: 'skipped', commit, blob, reason: `blob ${blob} already failed (${failed.code}); waiting for a newer revision`, error } });
  }
  const priorPending = st?.pending;
  try {
    // Came as a delta against the revision in force: its edits may spare the parse and the comparison of every element.
    // Bytes whose blob id is still being computed are checked after this step (plan-checked.ts).
    const blobLater = verified.fetched.blobCheck !== undefined;
    const { ruleset, hint } = verifyWithHint(hintBase(ctx, verified.fetched.delta?.base), verified.fetched, { ruleset: name, commit }, { blobLater });
    // A pending mark still here (its restore failed at start, or after a refused confirm)
    // names tables that may be in force unconfirmed: this apply owns them too, so they go
    // unless the new revision declares them, and a crash before it is confirmed restores over them.
    const leftover = priorPending?.managedTables ?? [];
    const owned = unionTables(st?.managedTables ?? [], leftover);
    // Before the pending mark: a restart restores over the tables it names (claim-tables.ts).
    await assertTablesFree(opts.nft, managedTables(ruleset), owned, opts.adoptTables ?? []);
    return next({ ...verified, ruleset, owned, newTables: unionTables(managedTables(ruleset), leftover), ...(priorPending && { priorPending }), ...(hint && { hint }) });
  } catch (err) {
    return refusePass(ctx, toNftSyncError(err), verified.fetched, priorPending);
  }
}

/** The revision in force, parsed (remembered: verify-revision.ts), when it is the base `deltaBase` names; never throws. */
function hintBase(ctx: PassContext, deltaBase: string | undefined): HintBase | undefined {
  const inForce = ctx.inForce;
  if (inForce === undefined || deltaBase !== inForce.blob) return undefined;
  try {
    return { bytes: inForce.bytes, blob: inForce.blob, ruleset: verifyRevision(inForce.bytes, inForce.blob, { ruleset: inForce.ruleset, commit: inForce.commit }).ruleset };
  } catch {
    return undefined;
  }
}

/** `a` then the tables of `b` not in `a`. */
export function unionTables(a: readonly TableRef[], b: readonly TableRef[]): TableRef[] {
  const seen = new Set(a.map((t) => `${t.family} ${t.name}`));
  return [...a, ...b.filter((t) => !seen.has(`${t.family} ${t.name}`))];
}
