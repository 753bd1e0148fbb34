/**
 * What a drift event source (the netlink listener, or `nft -j monitor`) tells the drift watcher,
 * and what every source offers. Types only.
 */
import type { ListenerLine } from '../../shared/wire/listener-line.js';
import type { MonitorEvent } from '../../shared/nft/monitor-event.js';

export type DriftSignal =
  /** Listening (again). `gen`: the generation id then (the listener only). */
  | { kind: 'ready'; gen?: number }
  /** A committed transaction (the listener only). */
  | { kind: 'tx'; tx: Extract<ListenerLine, { t: 'tx' }> }
  /** A line of `nft -j monitor` (the fallback only: no owner, no generation). */
  | { kind: 'monitor'; event: MonitorEvent }
  /** The kernel dropped events. */
  | { kind: 'lost' }
  /** The source stopped; it is restarted, and 'ready' follows. */
  | { kind: 'down' }
  /** The source cannot run at all (the listener: it keeps failing before it listens). */
  | { kind: 'unavailable'; reason: string };

export interface DriftEventSource {
  /** True when transactions carry their generation id and committing PID. */
  readonly exact: boolean;
  /** Start listening. Errors: none (failures come as signals and are retried). */
  start(): void;
  /** Stop for good. */
  stop(): void;
  /** Stop listening until resume(); resolves with the last generation seen, when known. */
  pause(): Promise<number | undefined>;
  /** Listen again; resolves with the generation id now, when known. */
  resume(): Promise<number | undefined>;
  /** The generation id now and of the last transaction seen (the listener only). */
  generation(): Promise<{ gen: number; seen: number } | undefined>;
}
