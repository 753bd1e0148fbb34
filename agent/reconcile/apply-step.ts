/**
 * Reconcile step "apply": mark the revision pending in the state (so a crash from here on is
 * restored over at the next start), then put it in force with one atomic nft transaction: from
 * a revision the host is known to hold (delta-base.ts), only what changed where that is cheaper.
 * A revision the host holds already, because this agent published it (host-holds.ts), runs no
 * nft at all: an empty delta.
 */
import { toNftSyncError } from '../../shared/errors.js';
import { stateWithPending } from '../state/transitions.js';
import { applyTransaction, type AppliedTransaction } from './apply-ruleset.js';
import { deltaBase } from './delta-base.js';
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
    // Visible to the next start after a crash of the agent; not fsynced (agent/state/state-store.ts says why).
    await ctx.save(stateWithPending(ctx.state(), opts.ref, { commit, blob, ruleset: name, managedTables: plan.newTables, startedAt: ctx.now() }), undefined, { durable: false });
    if (hostHoldsAlready(ctx.held, plan.ruleset, { inForceCommit: ctx.inForce?.commit, pendingLeftover: plan.priorPending !== undefined })) {
      const reason = `the host holds this revision already: this agent published its live tables as ${ctx.held!.commit} (no nft run)`;
      return next({ plan, transaction: { managedTables: managedTables(plan.ruleset), durationMs: 0, transaction: { kind: 'delta', reason } } });
    }
    // From a revision the host is known to hold, only what changed is sent (delta-base.ts).
    const inForce = deltaBase(ctx.inForce, { drifted: ctx.drifted, pendingLeftover: plan.priorPending !== undefined });
    // A delta fetch's line edits name the elements that changed (plan-step.ts, delta-hint.ts), proven from the bytes.
    const hint = inForce && plan.hint;
    // The bytes reach the disk while nft runs: the record after it then renames state.json only.
    ctx.stage(blob, plan.fetched.bytes);
    const transaction = await applyTransaction({ nft: opts.nft, ruleset: plan.ruleset, previouslyManaged: plan.owned, adopt: opts.adoptTables, check: opts.check, inForce, ...(hint && { hint }) });
    return next({ plan, transaction });
  } catch (err) {
    return refusePass(ctx, toNftSyncError(err), plan.fetched, plan.priorPending);
  }
}
