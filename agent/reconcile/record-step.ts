/**
 * Reconcile step "record": write the state a pass ended with (state-store.ts), the bytes in
 * force with it when they changed. The last step: it returns the pass's outcome.
 */
import { toNftSyncError } from '../../shared/errors.js';
import type { ReconcileOutcome } from './reconcile-outcome.js';
import type { PassContext, PassEnd } from './reconcile-step.js';

/**
 * Record `end`. When the state cannot be written, a failure the pass already reports stays the
 * one reported (the write error is logged); a success becomes an NFTSYNC_ERR_STATE_CORRUPT
 * failure (the state in memory is the new one all the same). Never throws.
 */
export async function recordStep(ctx: PassContext, end: PassEnd): Promise<ReconcileOutcome> {
  const { outcome, record } = end;
  if (!record) return outcome;
  try {
    await ctx.save(record.state, record.bytes);
    return outcome;
  } catch (err) {
    const error = toNftSyncError(err, 'NFTSYNC_ERR_STATE_CORRUPT');
    if (outcome.kind === 'failed') {
      ctx.opts.logger.error({ err: error.toJSON() }, 'could not record the state');
      return outcome;
    }
    const recorded = outcome.kind === 'applied' ? { recorded: outcome.tag !== undefined ? { tag: outcome.tag } : {} } : {};
    return { kind: 'failed', error, commit: outcome.commit, ...recorded };
  }
}
