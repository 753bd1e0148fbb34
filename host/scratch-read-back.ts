/**
 * Read back, in a scratch namespace, what a transaction just loaded: the push validator's view
 * of what the hosts would hold. Big sets are read through small copies (shared/ruleset/set-element-chunks.ts)
 * and every listing is checked for the repeated keys of a listing taken while the kernel was
 * resizing a set (shared/ruleset/listing-consistency.ts), then taken again: a big set reads back right
 * every time, in time linear in its size.
 */
import type { NftRunner } from './nft-runner.js';
import type { NftCommandBatch } from '../shared/ruleset/apply-plan.js';
import { NftSyncError } from '../shared/errors.js';
import { inconsistentSets } from '../shared/ruleset/listing-consistency.js';
import type { Ruleset } from '../shared/ruleset/ruleset-types.js';
import { mergeChunks, planElementChunks } from '../shared/ruleset/set-element-chunks.js';
import { checkRulesetText } from '../shared/ruleset/ruleset-schema.js';
import { HOST_DEFAULTS } from './defaults.js';

export interface ScratchReadBack {
  /** `nft -j list ruleset` after the load, big sets' elements given back to them. */
  listing: Ruleset;
  /**
   * Sets (`family table name`) whose elements could not be listed consistently in
   * READ_ATTEMPTS tries: their elements are not evidence of anything (the caller leaves them out).
   */
  unverified: string[];
}

/** Listings taken before giving up on a set, and the pause before each new one. */
export const READ_ATTEMPTS = HOST_DEFAULTS.scratch.readAttempts;
const PAUSE_MS = HOST_DEFAULTS.scratch.readPausesMs;

/**
 * Read back the namespace of `nft` after `batch` was applied there. Changes the namespace's
 * big sets (emptied, copies added): load again before using it for anything else.
 * Errors: NFTSYNC_ERR_NFT_LIST (a listing failed or is not JSON), NFTSYNC_ERR_TIMEOUT.
 */
export async function readBackScratch(nft: NftRunner, batch: NftCommandBatch): Promise<ScratchReadBack> {
  let plan = planElementChunks(batch);
  if (plan.chunked.length > 0) {
    try {
      await nft.run(['-j', '-f', '-'], JSON.stringify(plan.transaction), { errorCode: 'NFTSYNC_ERR_NFT_APPLY' });
    } catch {
      // Nothing changed (one transaction): list the sets as they are, slower but as right.
      plan = { transaction: { nftables: [] }, chunked: [] };
    }
  }
  const { listing, unverified } = await listRulesetConsistently(nft);
  // A copy that never listed consistently stands for its whole set.
  const owners = unverified.map((k) => k.replace(/__nftsync_chunk\d+$/, ''));
  return { listing: mergeChunks(listing, plan.chunked), unverified: [...new Set(owners)] };
}

/**
 * `nft -j list ruleset`, taken again (up to READ_ATTEMPTS times, with growing pauses) while a
 * set in it repeats a key; `unverified` names the sets still torn in the last one (empty when
 * it is consistent). With `checkText`, the listing's text is checked first as a ruleset's is
 * (checkRulesetText: a number JavaScript would round, nesting): NFTSYNC_ERR_RULESET_NUMBER_INEXACT,
 * NFTSYNC_ERR_RULESET_TOO_COMPLEX. Errors: NFTSYNC_ERR_NFT_LIST, NFTSYNC_ERR_TIMEOUT.
 */
export async function listRulesetConsistently(nft: NftRunner, options: { checkText?: boolean } = {}): Promise<{ listing: Ruleset; unverified: string[] }> {
  for (let attempt = 1; ; attempt++) {
    const listing = await listRuleset(nft, options.checkText === true);
    const unverified = inconsistentSets(listing);
    if (unverified.length === 0 || attempt === READ_ATTEMPTS) return { listing, unverified };
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS[attempt - 1] ?? PAUSE_MS[PAUSE_MS.length - 1]));
  }
}

async function listRuleset(nft: NftRunner, checkText = false): Promise<Ruleset> {
  const { stdout } = await nft.run(['-j', 'list', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST' });
  if (checkText) checkRulesetText(stdout);
  try {
    return JSON.parse(stdout) as Ruleset;
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', 'nft -j list ruleset printed something that is not JSON', { cause });
  }
}
