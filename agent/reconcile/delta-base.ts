/**
 * Which revision, if any, the agent may take as the starting point of a minimal transaction
 * (agent/reconcile/apply-ruleset.ts `inForce`): the confirmed revision in force, when the host is known to
 * hold exactly it. Not when a drift is outstanding (the host differs), nor when an older
 * attempt's pending mark is still there (its tables may hold an unconfirmed revision), nor when
 * the stored bytes no longer hash to their blob id or parse: the full replacement then, as always.
 */
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import type { ConfirmedRevision } from './confirm-revision.js';
import { verifyRevision } from './verify-revision.js';

/**
 * The ruleset of `previous` to start a minimal transaction from, or undefined when the host may
 * not match it (`drifted`, or a `pendingLeftover` mark). Never throws.
 */
export function deltaBase(previous: ConfirmedRevision | undefined, host: { drifted: boolean; pendingLeftover: boolean }): Ruleset | undefined {
  if (previous === undefined || host.drifted || host.pendingLeftover) return undefined;
  try {
    return verifyRevision(previous.bytes, previous.blob, { ruleset: previous.ruleset, commit: previous.commit }).ruleset;
  } catch {
    return undefined;
  }
}
