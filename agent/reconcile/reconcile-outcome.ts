/**
 * How one reconcile pass ended: the data every step returns on the way out, and what the
 * daemon, `pull` and the status report read.
 */
import type { ErrorCode, NftSyncError } from '../../shared/errors.js';
import type { ApplyRulesetResult } from './apply-ruleset.js';

export type ReconcileOutcome =
  /** The revision was applied, read back equal (or read-back off) and confirmed. */
  | { kind: 'applied'; commit: string; blob: string; ruleset: string; apply: ApplyRulesetResult; tag?: string }
  /** The server answered that the agent has the revision already. */
  | { kind: 'unchanged'; commit: string; blob: string; ruleset: string; tag?: string }
  /** The revision failed before (`error`) and is not retried until a newer one. */
  | { kind: 'skipped'; commit: string; blob: string; reason: string; error: { code: ErrorCode; message: string } }
  /**
   * A step failed. `recorded`: the revision went in force all the same and was recorded as the
   * one in force (its read-back differed or could not be made: the state is Degraded, not Failed).
   */
  | { kind: 'failed'; error: NftSyncError; commit?: string; recorded?: { tag?: string } };
