/**
 * The agent's state after a revision was put in force or refused: pure transitions, so what one
 * state.json rename commits can be checked without a disk or a crash.
 */
import type { TableRef } from '../shared/ruleset/ruleset-types.js';
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
 * The state after nft refused `attempt` (or could not run), where nothing changed on the host:
 * the pending mark written for the attempt goes, and the one that was there before it
 * (`priorPending`, a revision that may still be in force unconfirmed because its restore
 * failed) comes back, so its tables are still restored over at the next start and cleaned up by
 * the next apply. With `failed`, the attempt is recorded so it is not retried in a loop.
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
 * Under --track-tags PATTERN, the tag of the release in force: the one recorded with the
 * revision, or for a state written before tags were recorded, the tag of the signed release
 * record kept for the pattern. Undefined when there is none.
 */
export function tagInForce(state: AgentState | undefined, pattern: string): string | undefined {
  if (!state) return undefined;
  return state.tag ?? (state.release?.ref === `track:${pattern}` ? state.release.tag : undefined);
}
