/**
 * Reconcile step "apply": mark the revision pending in the state (so a crash from here on is
 * restored over at the next start), then put it in force with one atomic nft transaction: from
 * a revision the host is known to hold (delta-base.ts), only what changed where that is cheaper.
 * A revision the host holds already, because this agent published it (host-holds.ts), runs no
 * nft at all: an empty delta. A plan whose element batch was started before it was made
 * (early-apply.ts) is marked pending already: its transaction is settled here (apply-ruleset.ts).
 */
import { toNftSyncError } from '../../shared/errors.js';
import { stateWithPending } from '../state/transitions.js';
import { applyTransaction, type AppliedTransaction, type ApplyTransactionOptions } from './apply-ruleset.js';
import { deltaBase } from './delta-base.js';
import { earlyMayHaveChanged } from './early-apply.js';
import { hostHoldsAlready } from './host-holds.js';
import { managedTables } from '../../shared/ruleset/ruleset-schema.js';
import type { Plan } from './plan-step.js';
import { next, refusePass, type PassContext, type StepResult } from './reconcile-step.js';

/** A plan whose transaction committed. */
export interface Applied {
  plan: Plan;
  transaction: AppliedTransaction;
}

/**
 * Apply `plan`. Ends the pass as refused when the pending mark cannot be written or nft refuses
 * (nothing changed: stateAfterRefusal), or when nft timed out (the mark stays: the transaction
 * may have committed, and the next start restores over it). Never throws.
 */
export async function applyStep(ctx: PassContext, plan: Plan): Promise<StepResult<Applied>> {
  const { opts } = ctx;
  const { commit, blob, ruleset: name } = plan.fetched;
  try {
    // Started before the plan was made (early-apply.ts): marked pending, staged and given to nft already.
    if (plan.early !== undefined) return next({ plan, transaction: await applyTransaction({ ...transactionOf(ctx, plan), started: plan.early }) });
    // Visible to the next start after a crash of the agent; not fsynced (agent/state/state-store.ts says why).
    await ctx.save(stateWithPending(ctx.state(), opts.ref, { commit, blob, ruleset: name, managedTables: plan.newTables, startedAt: ctx.now() }), undefined, { durable: false });
    if (hostHoldsAlready(ctx.held, plan.ruleset, { inForceCommit: ctx.inForce?.commit, pendingLeftover: plan.priorPending !== undefined })) {
      const reason = `the host holds this revision already: this agent published its live tables as ${ctx.held!.commit} (no nft run)`;
      return next({ plan, transaction: { managedTables: managedTables(plan.ruleset), durationMs: 0, transaction: { kind: 'delta', reason } } });
    }
    // The bytes reach the disk while nft runs: the record after it then renames state.json only.
    ctx.stage(blob, plan.fetched.bytes);
    return next({ plan, transaction: await applyTransaction(transactionOf(ctx, plan)) });
  } catch (err) {
    // After an early batch that may have changed the host (it committed, or how it ended is not
    // known), whatever failed next (the full replacement that had to follow it) leaves its pending
    // mark: the host may hold part of this revision, and the next pass or start replaces over it.
    const kept = plan.early !== undefined && (await earlyMayHaveChanged(plan.early)) ? ctx.state()?.pending : plan.priorPending;
    return refusePass(ctx, toNftSyncError(err), plan.fetched, kept);
  }
}

/**
 * The transaction of `plan`: from a revision the host is known to hold, only what changed
 * (delta-base.ts), with the elements that changed named by the delta's line edits where they
 * prove it (plan-step.ts, delta-hint.ts).
 */
function transactionOf(ctx: PassContext, plan: Plan): ApplyTransactionOptions {
  const { opts } = ctx;
  const inForce = deltaBase(ctx.inForce, { drifted: ctx.drifted, pendingLeftover: plan.priorPending !== undefined });
  const hint = inForce && plan.hint;
  return { nft: opts.nft, ruleset: plan.ruleset, previouslyManaged: plan.owned, adopt: opts.adoptTables, check: opts.check, inForce, ...(hint && { hint }) };
}
