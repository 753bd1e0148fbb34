/**
 * Reconcile step "confirm": the commit-confirmed window (confirm-revision.ts). Reached through
 * the new ruleset, the revision is in force: the pass ends applied (or, when its read-back
 * differed or failed, failed with that error but recorded as in force: Degraded). Not reached,
 * the previous revision is restored and the attempt recorded as failed.
 */
import { stateAfterApply, stateAfterConfirmRefused } from '../state/transitions.js';
import type { ApplyRulesetResult } from './apply-ruleset.js';
import { confirmOrRestore } from './confirm-revision.js';
import type { ReadBackDone } from './read-back-step.js';
import type { ReconcileOutcome } from './reconcile-outcome.js';
import { endPass, type PassContext, type StepResult } from './reconcile-step.js';

/** Confirm `done` (when the guard is on). Always ends the pass. Never throws. */
export async function confirmStep(ctx: PassContext, done: ReadBackDone): Promise<StepResult<never>> {
  const { opts } = ctx;
  const { fetched, release, newTables } = done.plan;
  const { commit, blob, ruleset: name } = fetched;
  const guard = opts.confirm;
  if (guard && guard.windowMs > 0) {
    const refused = await confirmOrRestore(guard, { nft: opts.nft, logger: opts.logger, commit, blob, previous: ctx.inForce, newTables });
    if (refused) {
      const state = stateAfterConfirmRefused(ctx.state(), { ref: opts.ref, ruleset: ctx.inForce?.ruleset ?? '' }, { commit, blob }, refused.error, refused.restored, ctx.now());
      return endPass({ outcome: { kind: 'failed', error: refused.error, commit }, record: { state } });
    }
  }
  const { transaction, readback } = done;
  const state = stateAfterApply(ctx.state(), {
    ref: opts.ref,
    ruleset: name,
    commit,
    blob,
    managedTables: transaction.managedTables,
    appliedAt: ctx.now(),
    ...(opts.track && fetched.tag !== undefined && { tag: fetched.tag }),
    ...(release && { release }),
  });
  const apply: ApplyRulesetResult = { managedTables: transaction.managedTables, durationMs: transaction.durationMs + readback.durationMs, transaction: transaction.transaction, readback };
  const tag = fetched.tag !== undefined ? { tag: fetched.tag } : {};
  const outcome: ReconcileOutcome =
    readback.error === undefined
      ? { kind: 'applied', commit, blob, ruleset: name, apply, ...tag }
      : { kind: 'failed', error: readback.error, commit, recorded: tag };
  return endPass({ outcome, record: { state, bytes: fetched.bytes } });
}
