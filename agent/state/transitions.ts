/**
 * Every transition of the agent's state, as pure functions: what state.json becomes when a
 * revision is marked pending, applied, refused, restored after a refused confirm, found
 * interrupted at start, or answered as unchanged; and what the status report remembers after a
 * pass (reportAfterPass). No disk, no clock (times come in as arguments), no nft: what one
 * state.json rename commits can be checked without root, a disk or a crash.
 */
import type { ErrorCode } from '../../shared/errors.js';
import type { TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { ReconcileOutcome } from '../reconcile/reconcile-outcome.js';
import type { ReleaseRecord } from './release-record.js';
import type { AgentState, FailedAttempt, PendingRevision } from './state-store.js';

/** A revision that was applied and confirmed, and what it was released as. */
export interface AppliedRevision {
  ref: string;
  ruleset: string;
  commit: string;
  blob: string;
  managedTables: TableRef[];
  appliedAt: string;
  /** Under --track-tags: the tag it was released as. */
  tag?: string;
  /** With --allowed-signers: its verified signed release. */
  release?: ReleaseRecord;
}

/** The state a first attempt starts from: nothing in force, nothing owned. */
export function emptyState(ref: string, ruleset: string): AgentState {
  return { ref, ruleset, managedTables: [] };
}

/**
 * The state with `pending` marked, written BEFORE nft applies it: a restart then knows that the
 * host may hold that revision unconfirmed, and which tables it manages (agent/state/state-store.ts).
 * Replaces any older mark (the attempt's tables include it). Without a state, one is started.
 */
export function stateWithPending(state: AgentState | undefined, ref: string, pending: PendingRevision): AgentState {
  return { ...(state ?? emptyState(ref, pending.ruleset)), pending };
}

/**
 * The state once `applied` is in force: the revision, its tag and its release record together,
 * so that one rename commits all three (a crash cannot leave a newer revision with an older
 * release record, which would open a replay window). The pending mark, the failure and the
 * interruption count go. Without a new release record the previous one is kept: the replay check
 * of a later signed release still has it.
 */
export function stateAfterApply(previous: AgentState | undefined, applied: AppliedRevision): AgentState {
  const { tag, release, ...revision } = applied;
  const state: AgentState = { ...revision };
  if (tag !== undefined) state.tag = tag;
  const record = release ?? previous?.release;
  if (record !== undefined) state.release = record;
  return state;
}

/**
 * The state after nft refused `attempt` (or could not run, or the revision was refused before
 * it reached nft), where nothing changed on the host: the pending mark written for the attempt
 * goes, and the one that was there before it (`priorPending`, a revision that may still be in
 * force unconfirmed because its restore failed) comes back, so its tables are still restored
 * over at the next start and cleaned up by the next apply. With `failed`, the attempt is
 * recorded so it is not retried in a loop.
 */
export function stateAfterRefusal(current: AgentState, priorPending: PendingRevision | undefined, failed?: FailedAttempt): AgentState {
  const { pending: _attempt, lastFailed: previousFailure, ...base } = current;
  const state: AgentState = { ...base };
  if (priorPending) state.pending = priorPending;
  const lastFailed = failed ?? previousFailure;
  if (lastFailed) state.lastFailed = lastFailed;
  return state;
}

/**
 * Whether a refusal with `code`, before anything changed, says something against the revision
 * (it is then recorded as failed and not retried until a newer one). nft that cannot be started
 * (a wrong --nft, a failed fork) or a table someone else owns (fixed by --adopt-tables or by its
 * owner) must not keep the revision out once the host is fixed; an error that may pass by
 * itself (retryable) changes no state at all.
 */
export function refusalCountsAgainstRevision(code: ErrorCode): boolean {
  return code !== 'NFTSYNC_ERR_NFT_EXEC' && code !== 'NFTSYNC_ERR_TABLE_NOT_OWNED';
}

/** The failure record of `commit`/`blob` for `error`, made at `at`. */
export function failedAttempt(commit: string, blob: string, error: { code: string; message: string }, at: string): FailedAttempt {
  return { commit, blob, code: error.code, message: error.message, at };
}

/**
 * The state after the confirm window of `attempt` ended without reaching the server and the
 * previous revision was put back (`restored`), or could not be (the pending mark then stays, so
 * the next start tries again). The revision is recorded as failed, except when the window was
 * cut short by the operator (NFTSYNC_ERR_INTERRUPTED says nothing against the revision).
 */
export function stateAfterConfirmRefused(
  state: AgentState | undefined,
  base: { ref: string; ruleset: string },
  attempt: { commit: string; blob: string },
  error: { code: string; message: string },
  restored: boolean,
  at: string,
): AgentState {
  const { pending, lastFailed, ...rest } = state ?? emptyState(base.ref, base.ruleset);
  const next: AgentState = { ...rest };
  if (!restored && pending) next.pending = pending;
  const failed = error.code === 'NFTSYNC_ERR_INTERRUPTED' ? lastFailed : failedAttempt(attempt.commit, attempt.blob, error, at);
  if (failed) next.lastFailed = failed;
  return next;
}

/**
 * The state after the confirmed revision was put back over `pending` at start: no pending mark,
 * the interruption counted (per blob), and after `max` interruptions in a row the revision
 * recorded as failed (NFTSYNC_ERR_CONFIRM_FAILED) so that an agent that keeps dying inside the
 * confirm window (a watchdog, an OOM caused by the revision) stops trying it. Never throws.
 */
export function stateAfterInterruption(state: AgentState, pending: PendingRevision, max: number, at: string = new Date().toISOString()): AgentState {
  const { pending: _drop, ...rest } = state;
  const count = state.interrupted?.blob === pending.blob ? state.interrupted.count + 1 : 1;
  const next: AgentState = { ...rest, interrupted: { blob: pending.blob, count } };
  if (count >= max) {
    next.lastFailed = failedAttempt(pending.commit, pending.blob, {
      code: 'NFTSYNC_ERR_CONFIRM_FAILED',
      message: `the agent stopped ${count} times before revision ${pending.commit} was confirmed; not retried until a newer revision`,
    }, at);
  }
  return next;
}

/**
 * The state after the server answered that `commit` is what the agent has: the commit moves
 * (the ruleset's blob did not), a failure on record goes, and `tag` (the tag in force, when
 * known) is recorded. Undefined when nothing changes (nothing to write) or there is no state yet.
 */
export function stateAfterUnchanged(state: AgentState | undefined, answer: { ref: string; commit: string; tag: string | undefined }): AgentState | undefined {
  if (!state || (state.commit === answer.commit && !state.lastFailed && state.tag === answer.tag)) return undefined;
  const { lastFailed: _drop, tag: _tag, ...rest } = state;
  return { ...rest, commit: answer.commit, ref: answer.ref, ...(answer.tag !== undefined && { tag: answer.tag }) };
}

/** What the status report remembers of the passes: the last error, the commit tried, the tag last resolved. */
export interface PassReport {
  lastError?: { code: ErrorCode; message: string };
  /** The commit the latest pass tried (kept when a pass ends before it knows one). */
  attempted?: string;
  /** The tag the server last resolved (tracked patterns), for the status when none is in force. */
  tag?: string;
}

/**
 * The report after a pass ended with `outcome` (or after a failure outside a pass: a `failed`
 * outcome without a commit). Pure; the one place a pass's result turns into what the status says.
 */
export function reportAfterPass(report: PassReport, outcome: ReconcileOutcome): PassReport {
  switch (outcome.kind) {
    case 'applied':
    case 'unchanged':
      return dropUndefined({ attempted: outcome.commit, tag: outcome.tag });
    case 'skipped':
      return dropUndefined({ ...report, attempted: outcome.commit, lastError: outcome.error });
    case 'failed': {
      const next: PassReport = { ...report, lastError: { code: outcome.error.code, message: outcome.error.message } };
      if (outcome.commit !== undefined) next.attempted = outcome.commit;
      // The revision went in force all the same (read-back): its tag is the one in force now.
      if (outcome.recorded) {
        if (outcome.recorded.tag === undefined) delete next.tag;
        else next.tag = outcome.recorded.tag;
      }
      return next;
    }
  }
}

function dropUndefined(r: PassReport): PassReport {
  const out: PassReport = {};
  if (r.lastError !== undefined) out.lastError = r.lastError;
  if (r.attempted !== undefined) out.attempted = r.attempted;
  if (r.tag !== undefined) out.tag = r.tag;
  return out;
}
