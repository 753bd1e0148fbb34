/**
 * Reconnect delays: exponential, capped, with "equal jitter" (each delay is between half and
 * all of the exponential value), so a fleet that lost its server does not reconnect in lockstep
 * and no agent ever retries in a tight loop. The first reconnect after a working connection
 * dropped (a server restart: every agent loses its link in the same millisecond) is spread
 * wider, uniformly over `dropSpreadMs`: ten thousand agents then come back over seconds, not in
 * one burst of a few hundred milliseconds that the restarted server would have to absorb.
 */
import { AGENT_DEFAULTS } from './defaults.js';
export interface BackoffOptions {
  /** First delay's upper bound in ms. */
  baseMs: number;
  /** Largest delay in ms. */
  capMs: number;
  /** Spread of the first reconnect after a drop, in ms (full jitter; at most capMs). */
  dropSpreadMs: number;
  /** The same when the reconnect goes to another server (`--server A,B`): shorter, in ms. */
  failoverSpreadMs: number;
  /** Source of randomness in [0, 1); replaceable for tests. */
  random?: () => number;
}

export const BACKOFF_DEFAULTS: BackoffOptions = AGENT_DEFAULTS.backoff;

export class Backoff {
  readonly #opts: BackoffOptions;
  #attempt = 0;

  constructor(opts: Partial<BackoffOptions> = {}) {
    this.#opts = { ...BACKOFF_DEFAULTS, ...opts };
  }

  /** The next delay in ms; each call without a reset doubles the bound up to the cap. */
  next(): number {
    const { baseMs, capMs, random = Math.random } = this.#opts;
    const bound = Math.min(capMs, baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.round(bound / 2 + (random() * bound) / 2);
  }

  /**
   * The delay before the first reconnect after a working connection dropped: uniform in
   * [0, min(dropSpreadMs, capMs)], or over failoverSpreadMs when the reconnect goes to another
   * server. Does not count as an attempt: a failure after it waits next().
   */
  afterDrop(to: 'same server' | 'next server' = 'same server'): number {
    const { dropSpreadMs, failoverSpreadMs, capMs, random = Math.random } = this.#opts;
    return Math.round(random() * Math.min(to === 'next server' ? failoverSpreadMs : dropSpreadMs, capMs));
  }

  /** Start again from the base delay (after a successful connection). */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
