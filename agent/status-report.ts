/**
 * Turns the outcome of a reconcile into the status an agent reports: a state and a Ready
 * condition whose reason is a stable PascalCase word operators can alert on.
 */
import type { ErrorCode } from '../shared/errors.js';
import type { AgentStatus, Condition } from '../shared/messages.js';

/** Condition reasons, by the error code that caused them. */
const REASONS: Partial<Record<ErrorCode, string>> = {
  NFTSYNC_ERR_VERIFY_BLOB_MISMATCH: 'VerifyFailed',
  NFTSYNC_ERR_RULESET_JSON: 'VerifyFailed',
  NFTSYNC_ERR_RULESET_SCHEMA: 'VerifyFailed',
  NFTSYNC_ERR_RULESET_NAME_INVALID: 'VerifyFailed',
  NFTSYNC_ERR_NFT_CHECK: 'CheckFailed',
  NFTSYNC_ERR_NFT_APPLY: 'ApplyFailed',
  NFTSYNC_ERR_NFT_EXEC: 'ApplyFailed',
  NFTSYNC_ERR_READBACK_MISMATCH: 'ReadbackMismatch',
  NFTSYNC_ERR_REF_NOT_FOUND: 'FetchFailed',
  NFTSYNC_ERR_REF_INVALID: 'FetchFailed',
  NFTSYNC_ERR_RULESET_NOT_FOUND: 'FetchFailed',
  NFTSYNC_ERR_REF_NOT_COMMIT: 'FetchFailed',
  NFTSYNC_ERR_REF_AMBIGUOUS: 'FetchFailed',
  NFTSYNC_ERR_REPO_CONFIG_INVALID: 'FetchFailed',
  NFTSYNC_ERR_CONN_FAILED: 'Unreachable',
  NFTSYNC_ERR_CONN_CLOSED: 'Unreachable',
  NFTSYNC_ERR_TIMEOUT: 'Unreachable',
  NFTSYNC_ERR_CONFIRM_FAILED: 'RolledBack',
  NFTSYNC_ERR_DRIFTED: 'Drifted',
};

/** The condition reason for a failure with `code`. */
export function reasonFor(code: ErrorCode): string {
  return REASONS[code] ?? 'Failed';
}

export interface InForce {
  ruleset: string;
  commit: string;
  blob: string;
  appliedAt: string;
}

/**
 * Build the status report. `inForce` is what the host runs now (the last successful apply);
 * `error` the failure of the latest attempt, if it failed; `attemptedCommit` what was tried.
 */
export function buildStatus(args: {
  agent: string;
  ref: string;
  inForce: InForce | undefined;
  attemptedCommit?: string;
  error?: { code: ErrorCode; message: string };
}): AgentStatus {
  const { agent, ref, inForce, attemptedCommit, error } = args;
  let ready: Condition;
  let state: AgentStatus['state'];
  if (!error) {
    ready = { type: 'Ready', status: 'True', reason: 'Applied', message: inForce ? `${inForce.ruleset} at ${inForce.commit}` : undefined };
    state = inForce ? 'Applied' : 'Unknown';
  } else {
    const reason = reasonFor(error.code);
    ready = { type: 'Ready', status: 'False', reason, message: `${error.code}: ${error.message}`.slice(0, 4096) };
    state = reason === 'ReadbackMismatch' || reason === 'Drifted' ? 'Degraded' : 'Failed';
  }
  if (ready.message === undefined) delete ready.message;
  const status: AgentStatus = { agent, ref, state, conditions: [ready] };
  if (inForce) {
    status.ruleset = inForce.ruleset;
    status.commit = inForce.commit;
    status.blob = inForce.blob;
    status.appliedAt = inForce.appliedAt;
  }
  if (attemptedCommit) status.attemptedCommit = attemptedCommit;
  return status;
}
