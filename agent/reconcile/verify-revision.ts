/**
 * Reconcile step "verify": the agent trusts nothing the server says about the bytes it sent.
 * It computes their git blob id itself (once per Buffer: agent/known-blob-id.ts, so bytes the wire
 * client hashed already are not hashed again), compares it with the id the server announced for the
 * revision, and validates the ruleset against the schema before anything reaches nft.
 *
 * The result is remembered for as long as the bytes themselves are held (a WeakMap keyed by the
 * Buffer): the revision in force is verified again, as the start of the next minimal transaction
 * (agent/reconcile/delta-base.ts), without parsing it a second time (about 1 s for 1,000,000 elements).
 * The price is the parsed revision kept in memory beside its bytes while it is in force.
 */
import { NftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { knownBlobId } from '../known-blob-id.js';
import { parseRuleset, type Ruleset } from '../../shared/ruleset/ruleset-schema.js';

export interface VerifiedRevision {
  ruleset: Ruleset;
  blob: string;
}

/**
 * Verify `bytes` against the announced `blob` id and the ruleset schema. `parsed`: the ruleset
 * the bytes are proven to parse to, valid (agent/reconcile/delta-hint.ts builds it from the
 * revision in force and the delta the bytes were rebuilt from): taken instead of parsing them;
 * the blob id is checked all the same. `blobLater`: the blob id is being computed elsewhere and the
 * caller checks it before the bytes are used (a delta's bytes: FetchResult.blobCheck,
 * agent/reconcile/plan-checked.ts): only the schema is checked here, and nothing is remembered.
 * Errors: NFTSYNC_ERR_VERIFY_BLOB_MISMATCH, NFTSYNC_ERR_RULESET_JSON, NFTSYNC_ERR_RULESET_SCHEMA.
 */
export function verifyRevision(bytes: Buffer, blob: string, where: { ruleset: string; commit: string }, parsed?: Ruleset, opts: { blobLater?: boolean } = {}): VerifiedRevision {
  const known = verified.get(bytes);
  if (known !== undefined && known.blob === blob) return known;
  if (opts.blobLater === true) return { ruleset: parsed ?? parseRuleset(bytes), blob };
  const actual = knownBlobId(bytes, objectIdAlgorithm(blob));
  if (actual !== blob) {
    throw new NftSyncError(
      'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH',
      `ruleset ${where.ruleset} at ${where.commit.slice(0, 12)}: the server announced blob ${blob} but the bytes hash to ${actual}; refusing to apply`,
      { data: { announced: blob, actual, ...where } },
    );
  }
  const result = { ruleset: parsed ?? parseRuleset(bytes), blob };
  verified.set(bytes, result);
  return result;
}

/** Verified revisions by the very Buffer they were read from (see the file comment). */
const verified = new WeakMap<Buffer, VerifiedRevision>();
