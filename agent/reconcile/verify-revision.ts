/**
 * Reconcile step "verify": the agent trusts nothing the server says about the bytes it sent.
 * It recomputes their git blob id, compares it with the id the server announced for the
 * revision, and validates the ruleset against the schema before anything reaches nft.
 */
import { NftSyncError } from '../../shared/errors.js';
import { gitBlobId, objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { parseRuleset, type Ruleset } from '../../shared/ruleset/ruleset-schema.js';

export interface VerifiedRevision {
  ruleset: Ruleset;
  blob: string;
}

/**
 * Verify `bytes` against the announced `blob` id and the ruleset schema.
 * Errors: NFTSYNC_ERR_VERIFY_BLOB_MISMATCH, NFTSYNC_ERR_RULESET_JSON, NFTSYNC_ERR_RULESET_SCHEMA.
 */
export function verifyRevision(bytes: Buffer, blob: string, where: { ruleset: string; commit: string }): VerifiedRevision {
  const actual = gitBlobId(bytes, objectIdAlgorithm(blob));
  if (actual !== blob) {
    throw new NftSyncError(
      'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH',
      `ruleset ${where.ruleset} at ${where.commit.slice(0, 12)}: the server announced blob ${blob} but the bytes hash to ${actual}; refusing to apply`,
      { data: { announced: blob, actual, ...where } },
    );
  }
  return { ruleset: parseRuleset(bytes), blob };
}
