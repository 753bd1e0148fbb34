/**
 * Turns the outcome of a reconcile into the status an agent reports: a state and a Ready
 * condition whose reason is a stable PascalCase word operators can alert on.
 */
import type { ErrorCode } from '../../shared/errors.js';
import type { AgentStatus, Condition } from '../../shared/wire/messages.js';

/** Codes that leave the revision in force running and the agent held (a `Held` condition). */
const HOLDING: ReadonlySet<ErrorCode> = new Set(['NFTSYNC_ERR_RELEASE_DOWNGRADE', 'NFTSYNC_ERR_SERVER_BEHIND', 'NFTSYNC_ERR_ROLLOUT_UNKNOWN']);

/** Condition reasons, by the error code that caused them. */
const REASONS: Partial<Record<ErrorCode, string>> = {
  NFTSYNC_ERR_VERIFY_BLOB_MISMATCH: 'VerifyFailed',
  NFTSYNC_ERR_VERIFY_SIGNATURE: 'VerifyFailed',
  NFTSYNC_ERR_VERIFY_CHAIN: 'VerifyFailed',
  NFTSYNC_ERR_VERIFY_REPLAY: 'VerifyFailed',
  NFTSYNC_ERR_RELEASE_DOWNGRADE: 'DowngradeRefused',
  NFTSYNC_ERR_SERVER_BEHIND: 'ServerBehind',
  NFTSYNC_ERR_ROLLOUT_UNKNOWN: 'RolloutUnknown',
  NFTSYNC_ERR_PROOF_UNAVAILABLE: 'VerifyFailed',
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
  NFTSYNC_ERR_SERVER_BUSY: 'Unreachable',
  NFTSYNC_ERR_PROTO_TIMEOUT: 'Unreachable',
  NFTSYNC_ERR_FRAME_TRUNCATED: 'Unreachable',
  NFTSYNC_ERR_FRAME_TOO_LARGE: 'ProtocolError',
  NFTSYNC_ERR_MSG_MALFORMED: 'ProtocolError',
  NFTSYNC_ERR_MSG_INVALID: 'ProtocolError',
  NFTSYNC_ERR_MSG_UNEXPECTED: 'ProtocolError',
  NFTSYNC_ERR_PROTO_VERSION: 'ProtocolError',
  NFTSYNC_ERR_NFT_LIST: 'ReadbackFailed',
  NFTSYNC_ERR_NFT_TIMEOUT: 'NftTimeout',
  NFTSYNC_ERR_STATE_CORRUPT: 'StateCorrupt',
  NFTSYNC_ERR_SERVER_INTERNAL: 'ServerError',
  NFTSYNC_ERR_REPO_NOT_FOUND: 'ServerError',
  NFTSYNC_ERR_REPO_GIT_FAILED: 'ServerError',
  NFTSYNC_ERR_TLS_REJECTED: 'Unreachable',
  NFTSYNC_ERR_TLS_SERVER_UNTRUSTED: 'Unreachable',
  NFTSYNC_ERR_TLS_IDENTITY: 'Unreachable',
  NFTSYNC_ERR_ACCESS_DENIED: 'FetchFailed',
  NFTSYNC_ERR_CONFIRM_FAILED: 'RolledBack',
  NFTSYNC_ERR_DRIFTED: 'Drifted',
};

/**
 * Every reason a Ready condition can carry (besides Applied): stable, PascalCase, safe to alert
 * on. Never rename one; add new ones.
 */
export const STATUS_REASONS: readonly string[] = ['Applied', ...new Set([...Object.values(REASONS), 'Failed'])];

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
 * A refused downgrade (NFTSYNC_ERR_RELEASE_DOWNGRADE) leaves the release in force running and
 * the agent held there: state Degraded, Ready False, and a `Held` condition (status True, reason
 * DowngradeRefused) whose message names both versions. A server behind the agent
 * (NFTSYNC_ERR_SERVER_BEHIND: a replica whose mirror lags) holds it the same way, reason ServerBehind,
 * and so does a replica that has not heard the primary's rollout for its tip (NFTSYNC_ERR_ROLLOUT_UNKNOWN),
 * reason RolloutUnknown.
 */

export function buildStatus(args: {
  agent: string;
  ref: string;
  inForce: InForce | undefined;
  attemptedCommit?: string;
  error?: { code: ErrorCode; message: string };
  /** For a tracked tag pattern: the tag last resolved. */
  tag?: string;
}): AgentStatus {
  const { agent, ref, inForce, attemptedCommit, error, tag } = args;
  let ready: Condition;
  let state: AgentStatus['state'];
  if (!error) {
    ready = { type: 'Ready', status: 'True', reason: 'Applied', message: inForce ? `${inForce.ruleset} at ${inForce.commit}` : undefined };
    state = inForce ? 'Applied' : 'Unknown';
  } else {
    const reason = reasonFor(error.code);
    ready = { type: 'Ready', status: 'False', reason, message: `${error.code}: ${error.message}`.slice(0, 4096) };
    state = reason === 'ReadbackMismatch' || reason === 'Drifted' || HOLDING.has(error.code) ? 'Degraded' : 'Failed';
  }
  if (ready.message === undefined) delete ready.message;
  const status: AgentStatus = { agent, ref, state, conditions: [ready] };
  const held = error !== undefined && HOLDING.has(error.code) ? reasonFor(error.code) : undefined;
  if (held) status.conditions.push({ type: 'Held', status: 'True', reason: held, message: error!.message.slice(0, 4096) });
  if (inForce) {
    status.ruleset = inForce.ruleset;
    status.commit = inForce.commit;
    status.blob = inForce.blob;
    status.appliedAt = inForce.appliedAt;
  }
  if (attemptedCommit) status.attemptedCommit = attemptedCommit;
  if (tag) status.tag = tag;
  return status;
}

/** A drift the agent recorded (Reconciler.noteDrift). */
export interface DriftRecord {
  message: string;
  healed: boolean;
  at: string;
}

/**
 * The status an agent reports, from what it knows: the state in force, the report of its passes
 * (agent/state/transitions.ts reportAfterPass), a drift on record and the tag in force. The one
 * function every status goes through: the Ready condition from the pass's error or an unhealed
 * drift (Degraded, reason Drifted), and a `Drifted` condition (status False, reason Healed once
 * self-heal put the revision back) while a drift is on record.
 */
export function agentStatus(args: {
  agent: string;
  ref: string;
  state: { ruleset: string; commit?: string; blob?: string; appliedAt?: string } | undefined;
  report: { lastError?: { code: ErrorCode; message: string }; attempted?: string; tag?: string };
  drift: DriftRecord | undefined;
  /** Under --track-tags: the tag of the release in force, when known. */
  tagInForce: string | undefined;
}): AgentStatus {
  const { state: st, report, drift } = args;
  const status = buildStatus({
    agent: args.agent,
    ref: args.ref,
    inForce: st?.commit && st.blob ? { ruleset: st.ruleset, commit: st.commit, blob: st.blob, appliedAt: st.appliedAt ?? '' } : undefined,
    attemptedCommit: report.attempted,
    error: report.lastError ?? (drift && !drift.healed ? { code: 'NFTSYNC_ERR_DRIFTED', message: drift.message } : undefined),
    tag: args.tagInForce ?? report.tag,
  });
  if (drift) status.conditions.push({ type: 'Drifted', status: drift.healed ? 'False' : 'True', reason: drift.healed ? 'Healed' : 'Drifted', message: `${drift.at} ${drift.message}`.slice(0, 4096) });
  return status;
}
