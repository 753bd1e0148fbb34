/**
 * What the state becomes when the agent finds, at start, a revision it was applying or
 * confirming when it stopped (see agent/state-store.ts `pending`). Pure.
 */
import type { AgentState, PendingRevision } from './state-store.js';

/**
 * The state after the confirmed revision was put back over `pending`: no pending mark, the
 * interruption counted (per blob), and after `max` interruptions in a row the revision recorded
 * as failed (NFTSYNC_ERR_CONFIRM_FAILED) so that an agent that keeps dying inside the confirm
 * window (a watchdog, an OOM caused by the revision) stops trying it. Never throws.
 */
export function stateAfterInterruption(state: AgentState, pending: PendingRevision, max: number): AgentState {
  const { pending: _drop, ...rest } = state;
  const count = state.interrupted?.blob === pending.blob ? state.interrupted.count + 1 : 1;
  const next: AgentState = { ...rest, interrupted: { blob: pending.blob, count } };
  if (count >= max) {
    next.lastFailed = {
      commit: pending.commit,
      blob: pending.blob,
      code: 'NFTSYNC_ERR_CONFIRM_FAILED',
      message: `the agent stopped ${count} times before revision ${pending.commit} was confirmed; not retried until a newer revision`,
      at: new Date().toISOString(),
    };
  }
  return next;
}
