/**
 * Reconcile steps "verify" and "plan" (verify-step.ts, plan-step.ts), with the blob id check of
 * bytes rebuilt from a delta, when that id is being computed in a worker thread
 * (FetchResult.blobCheck, agent/wire/delta-answers.ts): the plan is made meanwhile (about 15 ms
 * for a 1,000,000-element set, as long as the SHA-1), and neither it nor how it ended the pass is
 * used before the check has passed. Bytes that do not hash to the announced blob are never used,
 * nor is any refusal the plan made of them: the whole ruleset the wire client fetched instead goes
 * through verify and plan as any fetched ruleset does (its `deltaRefused` logged).
 */
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { earlyBatch, markEarly, runEarly, unmarkEarly, type EarlyBatch } from './early-apply.js';
import { warnDeltaRefused, type Fetched } from './fetch-step.js';
import { planStep, type Plan } from './plan-step.js';
import { failPass, next, refusePass, type PassContext, type StepResult } from './reconcile-step.js';
import { verifyRevision } from './verify-revision.js';
import { verifyStep, type Verified } from './verify-step.js';

/**
 * verifyStep then planStep on `fetched`; with a pending blob check, the plan's result only once
 * the bytes are proven (then remembered as verified: verify-revision.ts), else the same steps on
 * the whole ruleset fetched instead. Ends the pass as failed (without recording anything) when
 * that second fetch fails. Never throws.
 */
export async function planChecked(ctx: PassContext, fetched: Fetched): Promise<StepResult<Plan>> {
  const verified = await verifyStep(ctx, fetched);
  if (verified.kind === 'end') return verified;
  const early = earlyBatch(ctx, verified.value);
  if (early !== undefined) return planEarly(ctx, fetched, verified.value, early);
  const plan = await planStep(ctx, verified.value);
  const { blobCheck, commit, blob, ruleset: name } = verified.value.fetched;
  if (blobCheck === undefined) return plan;
  let whole;
  try {
    whole = await blobCheck();
  } catch (err) {
    return failPass(toNftSyncError(err), commit);
  }
  if (whole === undefined) {
    // Proven now (the id is remembered: agent/known-blob-id.ts): verified as any revision, at no cost.
    if (plan.kind === 'next') verifyRevision(plan.value.fetched.bytes, blob, { ruleset: name, commit }, plan.value.ruleset);
    return plan;
  }
  warnDeltaRefused(ctx, whole);
  return planChecked(ctx, { asked: fetched.asked, fetched: whole });
}

/**
 * The early path (early-apply.ts): the revision marked pending while a pending blob check runs;
 * the bytes proven (bytes that fail go the way of planChecked, through the whole ruleset, with the
 * mark taken back first); then nft given `early`'s batch, and the plan made while nft runs (from
 * the state before the mark). The plan carries the started transaction for the apply step. Should
 * the plan end the pass all the same (it cannot, by early-apply's conditions), the pass ends
 * failed once nft has ended, without recording: the pending mark stays, and the next pass or start
 * replaces whole over it. Never throws.
 */
async function planEarly(ctx: PassContext, fetched: Fetched, verified: Verified, early: EarlyBatch): Promise<StepResult<Plan>> {
  const { blobCheck, commit, blob, ruleset: name } = verified.fetched;
  const { before } = early;
  const marking = markEarly(ctx, verified, early).then(
    () => undefined,
    (err: unknown) => toNftSyncError(err),
  );
  if (blobCheck !== undefined) {
    let whole;
    try {
      whole = await blobCheck();
    } catch (err) {
      await unmarkEarly(ctx, marking, before);
      return failPass(toNftSyncError(err), commit);
    }
    if (whole !== undefined) {
      warnDeltaRefused(ctx, whole);
      const undone = await unmarkEarly(ctx, marking, before);
      return undone === undefined ? planChecked(ctx, { asked: fetched.asked, fetched: whole }) : failPass(undone, commit);
    }
  }
  const marked = await marking;
  if (marked !== undefined) return refusePass(ctx, marked, verified.fetched, undefined);
  const started = runEarly(ctx, verified, early);
  const plan = await planStep(ctx, verified, before);
  if (plan.kind === 'end') {
    await started.done;
    const error = plan.end.outcome.kind === 'failed' ? plan.end.outcome.error : new NftSyncError('NFTSYNC_ERR_NFT_APPLY', `the plan of ${commit.slice(0, 12)} ended the pass after its element batch was started`);
    ctx.opts.logger.error({ commit, err: error.toJSON() }, 'the plan refused a revision whose element batch had started; it stays pending, to be replaced whole');
    return failPass(error, commit);
  }
  // Proven by the blob check above: remembered as verified (verify-revision.ts), at no cost.
  verifyRevision(plan.value.fetched.bytes, blob, { ruleset: name, commit }, plan.value.ruleset);
  return next({ ...plan.value, early: started });
}
