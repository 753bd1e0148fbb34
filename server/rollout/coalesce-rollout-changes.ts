/**
 * Rollout changes announced to the wire in one pass: every name changed in one turn of the event
 * loop (a replica's answer from the primary names them all at once) is handed to `apply` once,
 * as a set, in a microtask. Announcing each name by itself walked every connection's
 * subscriptions once per name: a primary flapping 30,000 rollouts every second cost a replica
 * with 1,000 agents 30 million walks a second.
 */

/**
 * A per-name `onChange` that hands `apply` the names changed in the same turn, once, after the
 * current synchronous code (queueMicrotask). `apply` never runs for an empty set. Never throws
 * by itself (an error `apply` throws is the microtask's).
 */
export function coalesceRolloutChanges(apply: (names: ReadonlySet<string>) => void): (name: string) => void {
  let pending: Set<string> | undefined;
  return (name) => {
    if (pending !== undefined) {
      pending.add(name);
      return;
    }
    pending = new Set([name]);
    queueMicrotask(() => {
      const names = pending!;
      pending = undefined;
      apply(names);
    });
  };
}
