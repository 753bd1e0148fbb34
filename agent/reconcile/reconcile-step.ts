/**
 * The shape every reconcile step shares. A pass runs fetch → verify → plan → apply → read back
 * → confirm → record (agent/reconcile/reconciler.ts); each step is a function
 * `(ctx, input) => Promise<StepResult<Output>>` that returns data, never throws: either the
 * input of the next step, or how the pass ends (an outcome, and the state to record with it).
 * The record step writes that state; the reconciler turns the outcome into the status.
 */
import { NftSyncError } from '../../shared/errors.js';
import type { AgentState, PendingRevision } from '../state/state-store.js';
import { emptyState, failedAttempt, refusalCountsAgainstRevision, stateAfterRefusal } from '../state/transitions.js';
import type { ConfirmedRevision } from './confirm-revision.js';
import type { HostHolds } from './host-holds.js';
import type { ReconcileOutcome } from './reconcile-outcome.js';
import type { ReconcilerOptions } from './reconciler-options.js';

/** What a pass knows and the one way its steps change the state. */
export interface PassContext {
  readonly opts: ReconcilerOptions;
  /** The state now (a step's save is seen by the next step). */
  state(): AgentState | undefined;
  /** The confirmed revision in force when the pass started. */
  readonly inForce: ConfirmedRevision | undefined;
  /** A drift that was not healed was outstanding when the pass started (the host may differ from `inForce`). */
  readonly drifted: boolean;
  /** Try a revision again although it failed before (`pull`). */
  readonly retryFailed: boolean;
  /** What the host holds besides `inForce`: the live state `agent --publish` just published (host-holds.ts). */
  readonly held?: HostHolds;
  /**
   * Make `state` the agent's state (in memory at once, then state.json), with `applied` the
   * bytes now in force when they changed; `durable: false` for the pending mark, which need not
   * survive a power loss (agent/state/state-store.ts). Errors: the file system's,
   * NFTSYNC_ERR_STATE_CORRUPT.
   */
  save(state: AgentState, applied?: Buffer, opts?: { durable?: boolean }): Promise<void>;
  /**
   * Start writing `bytes` (of blob `blob`, about to be applied) to the state directory beside
   * the state in force, without making them the state: the save that records them then need not
   * write them (apply-step.ts calls it while nft runs, so 20 MB reach the disk meanwhile). Never
   * throws or rejects: a write that fails is left to that save, which writes them itself.
   */
  stage(blob: string, bytes: Buffer): void;
  /** The time now, ISO 8601 (for the records). */
  now(): string;
}

/** How a pass ends: its outcome, and the state to record with it (the record step writes it). */
export interface PassEnd {
  outcome: ReconcileOutcome;
  record?: { state: AgentState; bytes?: Buffer };
}

/** The input of the next step, or how the pass ends; a step that always ends returns StepResult<never>. */
export type StepResult<T> = ([T] extends [never] ? never : { kind: 'next'; value: T }) | { kind: 'end'; end: PassEnd };

/** A reconcile step: one signature, data in, data out. */
export type ReconcileStep<In, Out> = (ctx: PassContext, input: In) => Promise<StepResult<Out>>;

/** Go on to the next step with `value`. */
export function next<T>(value: T): { kind: 'next'; value: T } {
  return { kind: 'next', value };
}

/** End the pass with `end`. */
export function endPass(end: PassEnd): StepResult<never> {
  return { kind: 'end', end };
}

/** End the pass as failed with `error`, recording nothing. */
export function failPass(error: NftSyncError, commit?: string): StepResult<never> {
  return endPass({ outcome: { kind: 'failed', error, ...(commit !== undefined && { commit }) } });
}

/**
 * End the pass after `attempt` was refused before anything changed on the host (nft refused the
 * batch or could not run, the bytes or a table were refused): an error that may pass by itself
 * changes no state; any other goes through stateAfterRefusal (the attempt's pending mark goes,
 * `priorPending` comes back, and the revision is recorded as failed when the refusal counts
 * against it).
 */
export function refusePass(ctx: PassContext, error: NftSyncError, attempt: { commit: string; blob: string; ruleset: string }, priorPending: PendingRevision | undefined): StepResult<never> {
  const outcome: ReconcileOutcome = { kind: 'failed', error, commit: attempt.commit };
  if (error.retryable) return endPass({ outcome });
  const current = ctx.state() ?? emptyState(ctx.opts.ref, attempt.ruleset);
  const failed = refusalCountsAgainstRevision(error.code) ? failedAttempt(attempt.commit, attempt.blob, error, ctx.now()) : undefined;
  return endPass({ outcome, record: { state: stateAfterRefusal(current, priorPending, failed) } });
}
