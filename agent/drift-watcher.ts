/**
 * Drift detection and self-heal. The agent follows `nft -j monitor` (through the --nft command,
 * so in the agent's namespace) and a periodic comparison backs the event stream up.
 *
 * An event on a table the revision in force does not manage is ignored. An event on a managed
 * table triggers a comparison of what nft lists with the revision (shared/ruleset-normalise.ts);
 * comparing rather than trusting events is what makes the agent's own applies harmless: their
 * events lead to a listing equal to the revision. Events that arrive while the reconciler is
 * changing the ruleset, or within OWN_GRACE_MS after, are the agent's own.
 *
 * Big rulesets (more set elements than AUTO_FULL_MAX_ELEMENTS): any listing pays for every
 * element (18 s and 630 MB for 1,000,000), so the comparison lists tersely (structure only),
 * and an element event outside the agent's own applies counts as drift by itself.
 *
 * Self-heal (default on: the repository is the source of truth, and a hand edit on one host is
 * exactly what the tool exists to prevent; --no-self-heal reports without touching) re-applies
 * the bytes in force, one atomic transaction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError } from '../shared/errors.js';
import { parseMonitorLine, type MonitorEvent } from '../shared/monitor-event.js';
import { diffNormalised, normaliseRuleset } from '../shared/ruleset-normalise.js';
import { parseRuleset } from '../shared/ruleset-schema.js';
import type { RulesetItem } from '../shared/ruleset-types.js';
import { AUTO_FULL_MAX_ELEMENTS, countElements } from './apply-ruleset.js';
import type { NftRunner } from './nft-runner.js';
import type { Reconciler } from './reconciler.js';

/** Events this soon after the agent's own change are taken as its own. */
const OWN_GRACE_MS = 300;
/** Events are gathered this long before one comparison runs. */
const DEBOUNCE_MS = 30;
/** Outside events kept between two comparisons (a flood by hand must not grow memory). */
const MAX_PENDING_EVENTS = 1000;
/** Pause before restarting a monitor process that died. */
const RESTART_MS = 1000;

/** Default periodic comparison, in seconds. */
export const DEFAULT_DRIFT_INTERVAL_S = 60;

export interface DriftReport {
  differences: string[];
  healed: boolean;
}

export interface DriftWatcherOptions {
  nft: NftRunner;
  reconciler: Pick<Reconciler, 'busy' | 'inForce' | 'reapplyInForce' | 'noteDrift' | 'lastChangeEndedAt'>;
  logger: Logger;
  /** Re-apply the revision on drift (default true). */
  selfHeal?: boolean;
  /** Periodic comparison in ms (default DEFAULT_DRIFT_INTERVAL_S s; 0: off). */
  intervalMs?: number;
  /** Called after each detected drift (the daemon reports status from here). */
  onDrift?: (report: DriftReport) => void;
}

export class DriftWatcher {
  readonly #o: DriftWatcherOptions;
  #child: ChildProcess | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #restart: NodeJS.Timeout | undefined;
  #pending: MonitorEvent[] = [];
  #checking = false;
  #again = false;
  #ticks = 0;
  #big: { blob: string; big: boolean } | undefined;
  /** The differences the last heal was meant to remove, and for which revision. */
  #lastHealed: { blob: string; diff: string } | undefined;

  constructor(opts: DriftWatcherOptions) {
    this.#o = opts;
  }

  /** Start the monitor process and the periodic comparison. Errors: none (failures are logged and retried). */
  start(): void {
    this.#spawn();
    const every = this.#o.intervalMs ?? DEFAULT_DRIFT_INTERVAL_S * 1000;
    // A big ruleset's comparison lists every object but the elements, which still costs nft a
    // pass over every element (about 0.55 s per 100,000): do it one tick in ten.
    if (every > 0) this.#interval = setInterval(() => this.#isBig() && ++this.#ticks % 10 !== 0 ? undefined : this.#schedule(), every).unref();
  }

  /** Kill the monitor process and stop all timers. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#restart);
    clearInterval(this.#interval);
    this.#child?.kill('SIGTERM');
    this.#child = undefined;
  }

  #spawn(): void {
    if (this.#stopped) return;
    const [file, ...prefix] = this.#o.nft.argv;
    const child = spawn(file!, [...prefix, '-j', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stderr!.resume();
    child.on('error', (err) => this.#o.logger.warn({ err: err.message }, 'nft monitor could not run'));
    child.on('close', (code, signal) => {
      if (this.#stopped || this.#child !== child) return;
      this.#o.logger.warn({ code, signal }, 'nft monitor stopped; restarting it');
      this.#restart = setTimeout(() => this.#spawn(), RESTART_MS);
      // Events may have been missed while it was down.
      this.#schedule();
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line));
  }

  #onLine(line: string): void {
    const ev = parseMonitorLine(line);
    const prev = this.#o.reconciler.inForce;
    if (!ev || !prev) return;
    if (!prev.managedTables.some((t) => t.family === ev.family && t.name === ev.table)) return;
    const own = this.#o.reconciler.busy || performance.now() - this.#o.reconciler.lastChangeEndedAt < OWN_GRACE_MS;
    if (own) {
      // The agent's own change: a comparison is cheap insurance for a small ruleset, too
      // costly for a big one (its apply is followed by events for every element batch).
      if (ev.kind === 'element' || this.#isBig()) return;
    } else if (this.#pending.length < MAX_PENDING_EVENTS) {
      this.#pending.push(ev);
    }
    this.#schedule();
  }

  /** Whether the revision in force has more set elements than a listing should pay for. */
  #isBig(): boolean {
    const prev = this.#o.reconciler.inForce;
    if (!prev) return false;
    if (this.#big?.blob !== prev.blob) this.#big = { blob: prev.blob, big: countElements(parseRuleset(prev.bytes)) > AUTO_FULL_MAX_ELEMENTS };
    return this.#big.big;
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check();
    }, DEBOUNCE_MS);
  }

  /**
   * Compare the host with the revision in force now; report and (with self-heal) repair a
   * difference. Resolves with the differences found (empty: none). Never throws.
   */
  async check(): Promise<string[]> {
    const r = this.#o.reconciler;
    if (this.#checking || r.busy) {
      // Run again once the current check or change is over.
      this.#again = true;
      if (r.busy) setTimeout(() => this.#schedule(), 100).unref();
      return [];
    }
    this.#checking = true;
    const events = this.#pending;
    this.#pending = [];
    try {
      const prev = r.inForce;
      if (!prev) return [];
      const differences = await this.#compare(prev.bytes, events);
      if (r.busy || r.inForce?.blob !== prev.blob) return []; // the revision changed meanwhile
      if (differences.length === 0) return [];
      // Differences that survive a heal unchanged, with no outside event since, are not drift but
      // how nft lists this revision (a read-back mismatch): healing again would loop on the
      // events of its own apply. A person making the same change again is an outside event.
      const diff = differences.join('\n');
      const futile = events.length === 0 && this.#lastHealed?.blob === prev.blob && this.#lastHealed.diff === diff;
      const heal = (this.#o.selfHeal ?? true) && !futile;
      if (futile) this.#o.logger.warn('the same differences survived a re-apply: not healing again (nft lists this revision differently from its file)');
      this.#o.logger.warn({ differences: differences.slice(0, 20), selfHeal: heal }, 'drift: the ruleset in force was changed outside nft-sync');
      let healed = false;
      if (heal) {
        try {
          healed = await r.reapplyInForce();
          this.#lastHealed = { blob: prev.blob, diff };
        } catch (err) {
          this.#o.logger.error({ err: toNftSyncError(err).toJSON() }, 'self-heal failed');
        }
      }
      const err = new NftSyncError('NFTSYNC_ERR_DRIFTED', `${healed ? 'drift healed' : 'drift'}: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? `; (${differences.length - 5} more)` : ''}`, {
        data: { differences, healed },
      });
      r.noteDrift(err, healed);
      this.#o.onDrift?.({ differences, healed });
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

  async #compare(bytes: Buffer, events: MonitorEvent[]): Promise<string[]> {
    const ruleset = parseRuleset(bytes);
    const managed = this.#o.reconciler.inForce?.managedTables ?? [];
    const big = this.#isBig();
    const items: RulesetItem[] = [];
    const listed = await Promise.all(
      managed.map((t) =>
        this.#o.nft.listTable(t.family, t.name, { terse: big }).catch((err: unknown) => {
          // A table deleted by hand cannot be listed: it then contributes nothing.
          if (err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_NFT_LIST') return { nftables: [] };
          throw err;
        }),
      ),
    );
    for (const doc of listed) for (const item of doc.nftables) items.push(item);
    const want = normaliseRuleset(ruleset, managed, { elements: !big });
    const have = normaliseRuleset({ nftables: items }, managed, { elements: !big });
    const differences = diffNormalised(want, have);
    if (big) for (const ev of events) if (ev.kind === 'element') differences.push(ev.summary);
    return differences;
  }
}
