/**
 * The connections the wire server drops (over a cap, silent through the TLS handshake or before
 * hello, refused by TLS, closed for a protocol error), logged without letting a flood of them
 * flood the log: counts per reason are gathered and written as one line per interval, with the
 * addresses that dropped most.
 */
import type { Logger } from 'pino';
import { SERVER_DEFAULTS } from '../defaults.js';

/**
 * Why a connection was dropped: over the per-address or global cap at accept; no TLS handshake
 * within the deadline, or a failed one; closed before a valid hello (timeout, bad frame, refused
 * version, identity or token); closed after hello for a protocol error (bad frame, timeout);
 * dropped for not reading what it is sent (wire-session.ts maxUnreadBytes, writeStallMs).
 */
export type DropReason = 'perAddressCap' | 'globalCap' | 'tlsHandshakeTimeout' | 'tlsFailed' | 'noHello' | 'protocolError' | 'notReading';

/** Distinct addresses counted per interval; past that they are counted as "others". */
const MAX_ADDRESSES = SERVER_DEFAULTS.wire.dropLogMaxAddresses;

export class DropLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #counts: Partial<Record<DropReason, number>> = {};
  #byAddress = new Map<string, number>();
  #detail: Partial<Record<DropReason, string>> = {};
  #timer: NodeJS.Timeout | undefined;
  #total = 0;

  /** `intervalMs`: at most one line per interval (default 10 s). */
  constructor(logger: Logger, intervalMs = SERVER_DEFAULTS.wire.dropLogIntervalMs) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Total drops noted since the server started (also those already logged). */
  get total(): number {
    return this.#total;
  }

  /** Count one drop; `detail` (an error code or message, never a credential) is kept per reason. */
  note(reason: DropReason, address: string, detail?: string): void {
    this.#total += 1;
    this.#counts[reason] = (this.#counts[reason] ?? 0) + 1;
    const key = this.#byAddress.has(address) || this.#byAddress.size < MAX_ADDRESSES ? address : 'others';
    this.#byAddress.set(key, (this.#byAddress.get(key) ?? 0) + 1);
    if (detail !== undefined) this.#detail[reason] = detail.slice(0, 200);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Write the line for what was counted since the last one (nothing if nothing was). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dropped = this.#counts;
    const count = Object.values(dropped).reduce((a, b) => a + (b ?? 0), 0);
    if (count === 0) return;
    const top = [...this.#byAddress].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([address, n]) => ({ address, n }));
    this.#logger.warn({ dropped, count, addresses: this.#byAddress.size, top, detail: this.#detail, intervalMs: this.#intervalMs }, 'wire connections dropped');
    this.#counts = {};
    this.#byAddress = new Map();
    this.#detail = {};
  }
}
