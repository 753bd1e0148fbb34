/**
 * Reconcile step "fetch": ask the server for the revision the agent follows, telling it what the
 * agent has so it can answer `unchanged` without the bytes.
 */
import { toNftSyncError } from '../../shared/errors.js';
import type { AskedRevision } from '../../shared/release/release-guard.js';
import { failPass, next, type PassContext, type StepResult } from './reconcile-step.js';
import type { FetchResult, RevisionFetcher } from './revision-fetcher.js';

/** What was asked and what came back. */
export interface Fetched {
  asked: AskedRevision;
  fetched: FetchResult;
}

/**
 * Fetch with `fetcher`. The revision in force is offered as `have` when it is of the ruleset
 * asked for, with its bytes as `base` (the server may answer with a delta against them); a
 * release proof is asked for under --allowed-signers. A delta the wire client refused (and fetched
 * whole instead) is logged. Ends the pass (failed,
 * without a commit) when the fetch fails. Never throws.
 */
export async function fetchStep(ctx: PassContext, fetcher: RevisionFetcher): Promise<StepResult<Fetched>> {
  const { opts } = ctx;
  const st = ctx.state();
  const have = st?.commit && st.blob && st.ruleset === (opts.ruleset ?? st.ruleset) ? { commit: st.commit, blob: st.blob } : undefined;
  // Following a branch, the server must say it has the commit in force before the agent moves
  // from it (shared/release/release-guard.ts checkServerNotBehind); tracked tags have their own guard.
  const checkBehind = have !== undefined && !opts.track;
  const asked: AskedRevision = { ref: opts.ref, track: opts.track, ruleset: opts.ruleset, have, ...(checkBehind && { checkBehind }) };
  try {
    // The bytes of `have`: the server may answer with a delta against them (shared/wire/ruleset-delta.ts).
    const base = have && ctx.inForce?.blob === have.blob ? ctx.inForce.bytes : undefined;
    const fetched = await fetcher.fetch({ ref: opts.ref, track: opts.track, ruleset: opts.ruleset, have, ...(checkBehind && { checkBehind }), ...(base && { base }), ...(opts.allowedSigners && { proof: true }) });
    warnDeltaRefused(ctx, fetched);
    return next({ asked, fetched });
  } catch (err) {
    return failPass(toNftSyncError(err));
  }
}

/** Log why the server's delta was refused, when `fetched` is the whole ruleset fetched instead (its `deltaRefused`). */
export function warnDeltaRefused(ctx: PassContext, fetched: FetchResult): void {
  if (fetched.kind === 'ruleset' && fetched.deltaRefused !== undefined) ctx.opts.logger.warn({ commit: fetched.commit, reason: fetched.deltaRefused }, 'the server\'s delta was refused; fetched the whole ruleset instead');
}
