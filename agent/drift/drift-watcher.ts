/**
 * Drift detection and self-heal. The agent follows the nf_tables events of its namespace through
 * a small netlink listener (agent/drift/netlink-events.ts; `nft -j monitor` when it cannot run), and a
 * periodic check backs the event stream up.
 *
 * Whose change is it? Every committed transaction ends with the kernel's generation id and the
 * PID that committed it; the agent knows the PIDs of the nft processes it starts (NftRunHooks),
 * so its own transactions are ignored by PID. Around its own big loads (over PAUSE_MIN_BYTES) it
 * takes the listener out of the event group, so the load does not pay for an event per element,
 * and compares the generation ids before and after: one more than before means only its own
 * transaction committed; anything else is a gap, handled like missed events.
 *
 * Small rulesets: an outside event on a managed table triggers a comparison of what nft lists
 * with the revision (shared/ruleset/ruleset-normalise.ts); the drift is reported with what changed, and
 * cleared when a later comparison finds the tables equal again (--no-self-heal). Big rulesets
 * (more set elements than AUTO_FULL_MAX_ELEMENTS): agent/drift/big-ruleset-drift.ts, from events, no
 * listing of elements ever. Events on tables the revision does not manage are ignored.
 *
 * Self-heal (default on: the repository is the source of truth, and a hand edit on one host is
 * exactly what the tool exists to prevent; --no-self-heal reports without touching) re-applies
 * the bytes in force, one atomic transaction, or for big sets undoes an element delta.
 */
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import type { ListenerLine } from '../../shared/wire/listener-line.js';
import type { MonitorEvent } from '../../shared/nft/monitor-event.js';
import { BigRulesetDrift } from './big-ruleset-drift.js';
import type { ConfirmedRevision } from '../reconcile/confirm-revision.js';
import { NftMonitorEvents, openDriftEvents, type DriftEventSource, type DriftSignal } from './drift-events.js';
import type { NftRunner } from '../../host/nft-runner.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { summariseRevision, type RevisionSummary } from './revision-summary.js';
import { SmallRulesetDrift } from './small-ruleset-drift.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** With nft monitor (no PIDs), events this soon after the agent's own change are taken as its own. */
const OWN_GRACE_MS = AGENT_DEFAULTS.drift.ownGraceMs;
/** Events are gathered this long before one comparison runs. */
const DEBOUNCE_MS = AGENT_DEFAULTS.drift.debounceMs;
/** Outside events kept between two comparisons (a flood by hand must not grow memory). */
const MAX_PENDING_EVENTS = AGENT_DEFAULTS.drift.maxPendingEvents;
/** Own loads of at least this many bytes run with the listener out of the event group (about 20,000 elements). */
export const PAUSE_MIN_BYTES = AGENT_DEFAULTS.drift.pauseMinBytes;
/** A PID the agent started is its own for this long (longer than any nft run may take). */
const OWN_PID_MS = AGENT_DEFAULTS.drift.ownPidMs;
/** A generation id that differs from the last one seen is asked again after this long (a commit in flight). */
const GEN_RECHECK_MS = AGENT_DEFAULTS.drift.genRecheckMs;
/** PIDs of its own remembered at most. */
const MAX_OWN_PIDS = AGENT_DEFAULTS.drift.maxOwnPids;

/** Default periodic check, in seconds. */
export const DEFAULT_DRIFT_INTERVAL_S = AGENT_DEFAULTS.drift.intervalS;

export interface DriftReport {
  differences: string[];
  healed: boolean;
}

export interface DriftWatcherOptions {
  /** The runner the reconciler uses, with this watcher's hooks() in it. */
  nft: NftRunner;
  reconciler: Pick<Reconciler, 'busy' | 'inForce' | 'reapplyInForce' | 'noteDrift' | 'clearDrift' | 'drifted' | 'lastChangeEndedAt' | 'exclusive'>;
  logger: Logger;
  /** Re-apply the revision on drift (default true). */
  selfHeal?: boolean;
  /** Periodic check in ms (default DEFAULT_DRIFT_INTERVAL_S s; 0: off). */
  intervalMs?: number;
  /** Called after each detected drift (the daemon reports status from here). */
  onDrift?: (report: DriftReport) => void;
  /** Called when an unhealed drift cleared: the tables match the revision again. */
  onCleared?: () => void;
  /** Called each time the event source says it is listening (its 'ready'; again after a restart). */
  onListening?: () => void;
  /** Follow events with the netlink listener (default true); false: with nft -j monitor. */
  listener?: boolean;
  /**
   * agent --publish: outside changes to managed tables, gaps and periodic checks go to the
   * publisher (agent/publish/live-publisher.ts) instead of being compared and healed.
   */
  publisher?: { changed(kind?: 'event' | 'check'): void };
}

export class DriftWatcher {
  readonly #o: DriftWatcherOptions;
  readonly #big: BigRulesetDrift;
  readonly #small: SmallRulesetDrift;
  #source: DriftEventSource;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #pending: string[] = [];
  #gapReason: string | undefined;
  #checking = false;
  #again = false;
  #summary: RevisionSummary | undefined;
  readonly #own = new Map<number, number>();
  /** Generation id up to which every transaction is accounted for (the listener only). */
  #gen: number | undefined;
  #owning = 0;
  /** The listener was down when an own load ended: the next one to start cannot tell what happened. */
  #unsynced = false;
  #warnedNamespace = false;

  constructor(opts: DriftWatcherOptions) {
    this.#o = opts;
    const selfHeal = opts.selfHeal ?? true;
    this.#big = new BigRulesetDrift({
      nft: opts.nft,
      reconciler: opts.reconciler,
      logger: opts.logger,
      selfHeal,
      report: (differences, healed) => this.#report(differences, healed),
      cleared: () => opts.onCleared?.(),
    });
    this.#small = new SmallRulesetDrift({
      nft: opts.nft,
      reconciler: opts.reconciler,
      logger: opts.logger,
      selfHeal,
      report: (differences, healed) => this.#report(differences, healed),
      cleared: () => opts.onCleared?.(),
    });
    this.#source = openDriftEvents(opts.nft, (s) => this.#onSignal(s), opts.logger, opts.listener ?? true);
  }

  /**
   * An nft process the agent started: its transactions are the agent's own. The runner the
   * reconciler and this watcher use calls it (NftRunHooks.spawned), with aroundOwnLoad as
   * NftRunHooks.aroundApply.
   */
  noteOwnPid(pid: number): void {
    const now = performance.now();
    this.#own.set(pid, now);
    if (this.#own.size > MAX_OWN_PIDS) for (const [p, at] of this.#own) if (now - at > OWN_PID_MS || this.#own.size > MAX_OWN_PIDS) this.#own.delete(p);
  }

  /** Start following events and the periodic check. Errors: none (failures are logged and retried). */
  start(): void {
    this.#syncFallback();
    this.#source.start();
    const every = this.#o.intervalMs ?? DEFAULT_DRIFT_INTERVAL_S * 1000;
    if (every > 0) this.#interval = setInterval(() => void this.#tick(), every).unref();
  }

  /** Stop the listener and all timers. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#interval);
    this.#source.stop();
  }

  /**
   * Run the agent's own load `run` (`bytes` of input). A big one runs with the listener out of
   * the event group; the generation ids before and after tell whether anyone else committed
   * meanwhile. Settles as `run` does.
   */
  async aroundOwnLoad<T>(bytes: number, run: () => Promise<T>): Promise<T> {
    if (bytes < PAUSE_MIN_BYTES || this.#stopped) return run();
    this.#owning++;
    const before = (await this.#source.pause()) ?? this.#gen;
    let ok = false;
    try {
      const result = await run();
      ok = true;
      return result;
    } finally {
      if (ok) this.#big.reset();
      // The nft monitor fallback stays stopped after a big load: the next tick restarts it if
      // the ruleset in force is small after all (it costs a full cache on a big one).
      const after = this.#source.exact ? await this.#source.resume() : undefined;
      this.#owning--;
      this.#afterOwnLoad(before, after, ok);
    }
  }

  #afterOwnLoad(before: number | undefined, after: number | undefined, ok: boolean): void {
    if (!this.#source.exact) return this.#schedule();
    if (after === undefined) {
      // No listener now: the one that starts next compares with nothing, so it checks.
      this.#gen = undefined;
      this.#unsynced = true;
      return;
    }
    this.#gen = after;
    if (before === undefined) return; // never listened before: nothing to compare with
    const others = ((after - before) >>> 0) - (ok ? 1 : 0);
    if (others < 0) {
      // The load committed, yet the generation id did not move: the listener watches another
      // namespace than the one nft changes (a --nft wrapper that enters it by itself).
      if (!this.#warnedNamespace) this.#o.logger.warn({ command: this.#o.nft.argv.join(' ') }, 'drift: the listener did not see the agent\'s own load: write --nft as "PREFIX nft" with the namespace in PREFIX (e.g. ip netns exec NS nft)');
      this.#warnedNamespace = true;
      return;
    }
    if (others === 0) return this.#big.loadSeen();
    this.#gap(`${others} transaction(s) by others committed during the agent's own load`);
  }

  #onSignal(s: DriftSignal): void {
    if (this.#stopped) return;
    switch (s.kind) {
      case 'ready':
        this.#o.onListening?.();
        if (!this.#source.exact) {
          this.#schedule(); // events may have been missed before it listened
        } else if (this.#owning === 0 && s.gen !== undefined) {
          if (this.#gen !== undefined && s.gen !== this.#gen) this.#gap(`${(s.gen - this.#gen) >>> 0} transaction(s) committed while the listener was down`);
          else if (this.#unsynced) this.#gap('the listener was down after the agent\'s own load');
          this.#gen = s.gen;
          this.#unsynced = false;
        }
        return;
      case 'tx': {
        const { tx } = s;
        if (this.#gen !== undefined && this.#owning === 0 && ((tx.gen - this.#gen) >>> 0) > 1 && tx.gen > this.#gen) this.#gap('transactions were missed');
        if (this.#gen === undefined || tx.gen > this.#gen) this.#gen = tx.gen;
        if (this.#isOwn(tx.pid)) return;
        this.#outside(tx);
        return;
      }
      case 'monitor':
        return this.#onMonitor(s.event);
      case 'lost':
        return this.#gap('the kernel dropped events');
      case 'down':
        return;
      case 'unavailable':
        this.#o.logger.warn({ err: new NftSyncError('NFTSYNC_ERR_DRIFT_LISTENER', s.reason).toJSON() }, 'drift is watched with nft monitor instead, and only while the ruleset in force is small');
        this.#source.stop();
        this.#source = new NftMonitorEvents(this.#o.nft, (x) => this.#onSignal(x), this.#o.logger);
        this.#syncFallback();
        this.#source.start();
        return;
    }
  }

  #isOwn(pid: number): boolean {
    const at = this.#own.get(pid);
    return at !== undefined && performance.now() - at < OWN_PID_MS;
  }

  #managed(prev: ConfirmedRevision, family: string, table: string): boolean {
    return prev.managedTables.some((t) => t.family === family && t.name === table);
  }

  /** Outside events (the listener's): a comparison for a small ruleset, big-ruleset-drift for a big one. */
  #outside(tx: Extract<ListenerLine, { t: 'tx' }>): void {
    const prev = this.#o.reconciler.inForce;
    if (!prev || !tx.tables.some(([family, table]) => this.#managed(prev, family, table))) return;
    if (this.#o.publisher) return this.#o.publisher.changed();
    const mine = tx.events.filter((e) => this.#managed(prev, e.family, e.table));
    const summary = this.#summaryOf(prev);
    if (summary?.big) {
      void this.#big.outside(prev, summary, mine, tx.truncated).catch((err) => this.#o.logger.warn({ err: toNftSyncError(err).toJSON() }, 'drift check failed'));
      return;
    }
    if (this.#pending.length < MAX_PENDING_EVENTS) this.#pending.push(`${mine.length} event(s)`);
    this.#schedule();
  }

  /** A line of the nft monitor fallback: own by timing (it has no PIDs), otherwise as #outside. */
  #onMonitor(ev: MonitorEvent): void {
    const r = this.#o.reconciler;
    const prev = r.inForce;
    if (!prev || !this.#managed(prev, ev.family, ev.table)) return;
    const own = r.busy || performance.now() - r.lastChangeEndedAt < OWN_GRACE_MS;
    if (own) {
      // The agent's own change: a comparison is cheap insurance for a small ruleset.
      if (ev.kind === 'element') return;
    } else if (this.#o.publisher) {
      return this.#o.publisher.changed();
    } else if (this.#pending.length < MAX_PENDING_EVENTS) {
      this.#pending.push(ev.summary);
    }
    this.#schedule();
  }

  /** Transactions nobody saw: checked at the next check(), by size. */
  #gap(reason: string): void {
    this.#gapReason = reason;
    this.#schedule();
  }

  /** The summary of `prev`, computed once per blob; undefined when its bytes do not parse. */
  #summaryOf(prev: ConfirmedRevision): RevisionSummary | undefined {
    if (this.#summary?.blob !== prev.blob) {
      try {
        this.#summary = summariseRevision(prev.blob, prev.bytes);
      } catch {
        return undefined;
      }
    }
    return this.#summary;
  }

  /** nft monitor fills nft's whole cache: run it only while the ruleset in force is small. */
  #syncFallback(): void {
    if (this.#source.exact || this.#stopped) return;
    const prev = this.#o.reconciler.inForce;
    if (prev && this.#summaryOf(prev)?.big) void this.#source.pause();
    else void this.#source.resume();
  }

  async #tick(): Promise<void> {
    const prev = this.#o.reconciler.inForce;
    if (!prev || this.#stopped) return;
    this.#syncFallback();
    if (!this.#summaryOf(prev)?.big) return this.#schedule();
    if (!this.#source.exact) return;
    // Big: no listing, ever. Every commit bumps the generation id and ends with an event that
    // carries it: a generation the listener has still not seen a moment later (not one merely
    // in flight) was missed.
    const g = await this.#source.generation();
    if (g === undefined || this.#owning > 0 || g.seen >= g.gen) return;
    await new Promise((resolve) => setTimeout(resolve, GEN_RECHECK_MS).unref());
    const again = await this.#source.generation();
    if (again !== undefined && this.#owning === 0 && again.seen < g.gen) this.#gap('the generation id moved without events');
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check();
    }, DEBOUNCE_MS);
  }

  #report(differences: string[], healed: boolean): void {
    const err = new NftSyncError('NFTSYNC_ERR_DRIFTED', `${healed ? 'drift healed' : 'drift'}: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? `; (${differences.length - 5} more)` : ''}`, {
      data: { differences, healed },
    });
    this.#o.reconciler.noteDrift(err, healed);
    this.#o.onDrift?.({ differences, healed });
  }

  /**
   * Compare the host with the revision in force now (a small ruleset), or hand a gap to the
   * big-ruleset handling; report and (with self-heal) repair a difference, or clear a drift that
   * was undone. Resolves with the differences found (empty: none). Never throws.
   */
  async check(): Promise<string[]> {
    const r = this.#o.reconciler;
    if (this.#o.publisher) {
      // Publishing: whatever differs is published, not healed (the publisher compares). A gap
      // may hide a change; a periodic check alone says nothing changed.
      const gap = this.#gapReason !== undefined;
      this.#pending = [];
      this.#gapReason = undefined;
      this.#o.publisher.changed(gap ? 'event' : 'check');
      return [];
    }
    if (this.#checking || r.busy) {
      // Run again once the current check or change is over.
      this.#again = true;
      if (r.busy) setTimeout(() => this.#schedule(), AGENT_DEFAULTS.drift.busyRetryMs).unref();
      return [];
    }
    this.#checking = true;
    const events = this.#pending;
    const gap = this.#gapReason;
    this.#pending = [];
    this.#gapReason = undefined;
    try {
      const prev = r.inForce;
      if (!prev) return [];
      if (this.#summaryOf(prev)?.big) {
        if (gap) await this.#big.gap(gap);
        return [];
      }
      const differences = await this.#small.compare(prev, events.length > 0);
      if (differences === undefined) {
        // A pass (or heal) started while the tables were listed: nothing was judged. The events
        // go back and the comparison runs again once it is over; they used to go with it, and
        // the hand change stood until the periodic check.
        this.#pending = [...events, ...this.#pending].slice(0, MAX_PENDING_EVENTS);
        this.#again = true;
        return [];
      }
      return differences;
    } catch (err) {
      this.#o.logger.warn({ err: toNftSyncError(err).toJSON() }, 'drift check failed');
      return [];
    } finally {
      this.#checking = false;
      if (this.#again) {
        this.#again = false;
        this.#schedule();
      }
    }
  }
}
