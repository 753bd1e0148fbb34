/**
 * Reconnect delays: exponential, capped, with "equal jitter" (each delay is between half and
 * all of the exponential value), so a fleet that lost its server does not reconnect in lockstep
 * and no agent ever retries in a tight loop.
 */
import { AGENT_DEFAULTS } from './defaults.js';
export interface BackoffOptions {
  /** First delay's upper bound in ms. */
  baseMs: number;
  /** Largest delay in ms. */
  capMs: number;
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
