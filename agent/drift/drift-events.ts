/**
 * Where the drift watcher's events come from: the netlink listener (agent/drift/netlink-events.ts),
 * or, when it cannot run (no python3, or an --nft command that does not end in `nft`), `nft -j
 * monitor` as before. The fallback knows neither generation ids nor who committed, and costs a
 * full nft cache: it is only run while the ruleset in force is small (the watcher decides).
 */
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { toNftSyncError } from '../../shared/errors.js';
import { parseMonitorLine } from '../../shared/nft/monitor-event.js';
import type { DriftEventSource, DriftSignal } from './drift-signal.js';

export type { DriftEventSource, DriftSignal };
import { listenerProgram, NetlinkEvents } from './netlink-events.js';
import type { NftProcess, NftRunner } from '../../host/nft-runner.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** Pause before restarting a monitor that died. */
const RESTART_MS = AGENT_DEFAULTS.drift.monitorRestartMs;

/** `nft -j monitor`, started by the nft runner like any nft run (NftRunner.monitor): the fallback source. */
export class NftMonitorEvents implements DriftEventSource {
  readonly exact = false;
  readonly #nft: NftRunner;
  readonly #onSignal: (s: DriftSignal) => void;
  readonly #log: Logger;
  #child: NftProcess | undefined;
  #stopped = false;
  #held = false;
  #restart: NodeJS.Timeout | undefined;

  /** `nft -j monitor` as `nft` starts it (NftRunner.monitor); `onSignal` gets every line. */
  constructor(nft: NftRunner, onSignal: (s: DriftSignal) => void, log: Logger) {
    this.#nft = nft;
    this.#onSignal = onSignal;
    this.#log = log;
  }

  start(): void {
    if (this.#stopped || this.#held || this.#child) return;
    const child = this.#nft.monitor();
    this.#child = child;
    child.stderr!.resume();
    child.on('error', (err) => this.#log.warn({ err: err.message }, 'nft monitor could not run'));
    child.on('close', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#stopped) return;
      this.#onSignal({ kind: 'down' });
      if (this.#held) return;
      this.#log.warn({ code, signal }, 'nft monitor stopped; restarting it');
      this.#restart = setTimeout(() => this.start(), RESTART_MS);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/lost some netlink events/i.test(line)) return this.#onSignal({ kind: 'lost' });
      const event = parseMonitorLine(line);
      if (event) this.#onSignal({ kind: 'monitor', event });
    });
    this.#onSignal({ kind: 'ready' });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restart);
    this.#kill();
  }

  async pause(): Promise<undefined> {
    this.#held = true;
    clearTimeout(this.#restart);
    this.#kill();
    return undefined;
  }

  async resume(): Promise<undefined> {
    this.#held = false;
    this.start();
    return undefined;
  }

  async generation(): Promise<undefined> {
    return undefined;
  }

  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    child?.kill('SIGKILL');
  }
}

/**
 * The listener beside `nft` (the runner starts it), or the `nft -j monitor` fallback when it
 * cannot run (logged once as a warning with code NFTSYNC_ERR_DRIFT_LISTENER). Starts nothing.
 * Errors: none.
 */
export function openDriftEvents(nft: NftRunner, onSignal: (s: DriftSignal) => void, log: Logger, listener = true): DriftEventSource {
  if (listener) {
    try {
      return new NetlinkEvents(nft, listenerProgram(nft), onSignal, (message) => log.warn(message));
    } catch (err) {
      log.warn({ err: toNftSyncError(err).toJSON() }, 'drift is watched with nft monitor instead, and only while the ruleset in force is small');
    }
  }
  return new NftMonitorEvents(nft, onSignal, log);
}
