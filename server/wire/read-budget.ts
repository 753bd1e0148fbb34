/**
 * How many bytes the server reads from one remote address, all its connections together: a
 * token bucket per address (by default 1 MiB a second, bursts of 4 MiB). Agents send a few
 * hundred bytes per request and a report of at most 16 KiB, so a NAT full of them stays far
 * below; a client that streams the largest frames it may send as fast as it can would otherwise
 * keep the event loop parsing for it alone. Over budget, the session stops reading from its
 * socket until the bucket has refilled: TCP then slows the sender down, and nothing is buffered.
 */
import { SERVER_DEFAULTS } from '../defaults.js';

export interface ReadBudgetOptions {
  /** Bytes per second one address may send (default 1 MiB). */
  bytesPerSecond?: number;
  /** Bytes one address may send at once after a quiet spell (default 4 MiB). */
  burstBytes?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

/** Defaults, in one place. */
export const READ_BUDGET_DEFAULTS = SERVER_DEFAULTS.readBudget;

interface Bucket {
  tokens: number;
  at: number;
  users: number;
}

export class ReadBudget {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: ReadBudgetOptions = {}) {
    this.#rate = opts.bytesPerSecond ?? READ_BUDGET_DEFAULTS.bytesPerSecond;
    this.#burst = opts.burstBytes ?? READ_BUDGET_DEFAULTS.burstBytes;
    this.#now = opts.now ?? Date.now;
  }

  /** A connection from `address` opened: its bucket is kept while any connection uses it. */
  open(address: string): void {
    const b = this.#buckets.get(address);
    if (b) b.users += 1;
    else this.#buckets.set(address, { tokens: this.#burst, at: this.#now(), users: 1 });
  }

  /** A connection from `address` closed. */
  close(address: string): void {
    const b = this.#buckets.get(address);
    if (b && --b.users <= 0) this.#buckets.delete(address);
  }

  /**
   * Spend `bytes` read from `address`. Returns 0 when within budget, else the milliseconds to
   * stop reading from it for the bucket to be back at zero.
   */
  spend(address: string, bytes: number): number {
    const b = this.#buckets.get(address);
    if (!b) return 0;
    const now = this.#now();
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) * this.#rate) / 1000) - bytes;
    b.at = now;
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens * 1000) / this.#rate);
  }
}
