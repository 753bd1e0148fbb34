/**
 * Reconcile step "verify": an answer to another question is never acted on, nor a lower release
 * than the one in force, nor another commit from a server behind the agent (shared/release/release-guard.ts); under --allowed-signers the release proof and
 * the tag's signature are checked (verify-release.ts) and must not be older than the release in
 * force (release-record.ts). An `unchanged` answer ends the pass here. The ruleset's bytes are
 * checked against their blob id where they are turned into a ruleset (plan-step.ts).
 */
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { checkAnswerMatchesRequest, checkNotDowngrade, checkServerNotBehind } from '../../shared/release/release-guard.js';
import { highestTag } from '../../shared/release/semver.js';
import { assertNotOlder, releaseRecordOf, type ReleaseRecord } from '../state/release-record.js';
import { tagInForce } from '../state/revision-state.js';
import { stateAfterUnchanged } from '../state/transitions.js';
import type { Fetched } from './fetch-step.js';
import { endPass, failPass, next, type PassContext, type StepResult } from './reconcile-step.js';
import type { ReconcilerOptions } from './reconciler-options.js';
import type { FetchResult } from './revision-fetcher.js';
import { verifyRelease } from './verify-release.js';

/** A fetched ruleset the agent may act on, with its verified signed release (--allowed-signers). */
export interface Verified {
  fetched: Extract<FetchResult, { kind: 'ruleset' }>;
  release?: ReleaseRecord;
}

/**
 * Check the answer. Ends the pass with `unchanged` (recording the new commit and tag when they
 * moved), or as failed with the check's error (NFTSYNC_ERR_MSG_UNEXPECTED and the like for an
 * answer to another question, NFTSYNC_ERR_RELEASE_DOWNGRADE, NFTSYNC_ERR_SERVER_BEHIND,
 * NFTSYNC_ERR_VERIFY_*). Never throws.
 */
export async function verifyStep(ctx: PassContext, { asked, fetched }: Fetched): Promise<StepResult<Verified>> {
  const { opts } = ctx;
  const { commit, blob, ruleset: name } = fetched;
  try {
    checkAnswerMatchesRequest(asked, fetched);
    checkServerNotBehind(asked, fetched);
    if (opts.track) checkNotDowngrade({ pattern: opts.ref, inForce: tagInForce(ctx.state(), opts.ref), offered: fetched.tag!, allowDowngrade: opts.allowDowngrade });
  } catch (err) {
    return failPass(toNftSyncError(err), commit);
  }
  if (fetched.kind === 'unchanged') {
    // A signed agent takes its tag in force only from a verified release (an `unchanged`
    // carries no proof); an unsigned one trusts the server for everything anyway.
    const tag = opts.track && !opts.allowedSigners ? fetched.tag : ctx.state()?.tag;
    const state = stateAfterUnchanged(ctx.state(), { ref: opts.ref, commit, tag });
    return endPass({ outcome: { kind: 'unchanged', commit, blob, ruleset: name, ...(fetched.tag !== undefined && { tag: fetched.tag }) }, ...(state && { record: { state } }) });
  }
  if (!opts.allowedSigners) return next({ fetched });
  try {
    const { claimedRef, recordKey } = releaseRefs(opts, fetched.tag);
    const checked = await verifyRelease(fetched, claimedRef, opts.allowedSigners, { agent: opts.agent, ruleset: opts.ruleset });
    assertNotOlder(ctx.state()?.release, recordKey, checked, { otherTagAllowed: opts.track && opts.allowDowngrade });
    opts.logger.info({ tag: checked.tag.tag, signer: checked.tag.taggerEmail, commit }, 'release signature verified');
    return next({ fetched, release: releaseRecordOf(recordKey, checked) });
  } catch (err) {
    return failPass(toNftSyncError(err), commit);
  }
}

/**
 * Which tag a signed release must carry, and the key its record is kept under. Following a
 * tag: that tag. Tracking a pattern: the tag the server chose, which must match the pattern;
 * its record is per pattern, so a server cannot go back to an older release of the channel.
 * Errors: NFTSYNC_ERR_VERIFY_CHAIN.
 */
function releaseRefs(opts: ReconcilerOptions, tag: string | undefined): { claimedRef: string; recordKey: string } {
  if (!opts.track) return { claimedRef: opts.ref, recordKey: opts.ref };
  if (tag === undefined || highestTag([tag], opts.ref) !== tag) {
    throw new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', `the server chose tag ${JSON.stringify(tag)}, which is not a release matching ${JSON.stringify(opts.ref)}`);
  }
  return { claimedRef: tag, recordKey: `track:${opts.ref}` };
}
