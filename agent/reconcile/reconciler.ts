/**
 * One reconcile of an agent, as the ordered steps it takes, each in its own file and each
 * returning data (reconcile-step.ts): fetch → verify → plan → apply → read back → confirm →
 * record. The first step that ends the pass hands its outcome to the record step; whatever
 * happens, the previous ruleset stays in force unless the new one was applied in full. The
 * pending mark is recorded before apply, the applied revision only after its confirm window.
 * Every state change is a pure transition (agent/state/transitions.ts), and every pass ends in
 * #finish, the one place its outcome turns into what the status says.
 */
import { foreseeEarly } from './early-apply.js';
import type { LineEdit } from '../../shared/wire/ruleset-delta.js';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import type { AgentStatus } from '../../shared/wire/messages.js';
import { applyRuleset } from './apply-ruleset.js';
import { loadState, pruneState, saveState, writeAppliedBytes, type AgentState, type LoadedState } from '../state/state-store.js';
import { agentStatus, type DriftRecord } from './status-report.js';
import { tagInForce } from '../state/revision-state.js';
import { reportAfterPass, stateAfterInterruption, type PassReport } from '../state/transitions.js';
import { verifyRevision } from './verify-revision.js';
import { knowLayout } from './delta-hint.js';
import { restoreConfirmed, type ConfirmedRevision } from './confirm-revision.js';
import { applyStep } from './apply-step.js';
import { confirmStep } from './confirm-step.js';
import { fetchStep } from './fetch-step.js';
import { planChecked } from './plan-checked.js';
import { readBackStep } from './read-back-step.js';
import type { ReconcileOutcome } from './reconcile-outcome.js';
import type { PassContext, StepResult } from './reconcile-step.js';
import type { ReconcilerOptions } from './reconciler-options.js';
import { recordStep } from './record-step.js';
import type { RevisionFetcher } from './revision-fetcher.js';
import type { HostHolds } from './host-holds.js';
import { AGENT_DEFAULTS } from '../defaults.js';

export type { ReconcileOutcome, ReconcilerOptions, RevisionFetcher };

/** After this many restarts in the middle of one revision's confirm window, it counts as failed. */
export const MAX_INTERRUPTIONS = AGENT_DEFAULTS.confirm.maxInterruptions;

export class Reconciler {
  readonly #opts: ReconcilerOptions;
  #state: AgentState | undefined;
  #applied: Buffer | undefined;
  /**
   * Blobs whose applied-BLOB.json this reconciler wrote or staged (and no save removed since):
   * a save writes the bytes in force only when their file is not among them.
   */
  #onDisk = new Set<string>();
  /**
   * The state directory's background work: the bytes being staged (stage) and the pruning after
   * a save (pruneState). Every save waits for it first, so none races a write or an unlink.
   */
  #disk: Promise<void> = Promise.resolve();
  /** The blob whose applied file the last pruning started keeps (undefined: none started). */
  #pruneKeeps: string | undefined;
  /** What the passes left for the status (agent/state/transitions.ts reportAfterPass). */
  #report: PassReport = {};
  #lock: Promise<unknown> = Promise.resolve();
  #busy = 0;
  /** What a pass left to make ready for the next one, waiting until nothing runs (#whenIdle). */
  #idleWork: (() => void) | undefined;
  /** How many passes have given preparation for the next one (the latest's alone goes on). */
  #prepared = 0;
  #lastChangeEndedAt = 0;
  #drift: DriftRecord | undefined;
  /** The live state agent --publish last published, while the host is known to hold it (host-holds.ts). */
  #held: HostHolds | undefined;

  constructor(opts: ReconcilerOptions, loaded: LoadedState | undefined) {
    this.#opts = opts;
    this.#state = loaded?.state;
    this.#applied = loaded?.applied;
    if (loaded?.applied !== undefined && loaded.state.blob !== undefined && loaded.legacyApplied !== true) this.#onDisk.add(loaded.state.blob);
  }

  /**
   * Load the state directory and build a reconciler on it. A corrupt state directory (a crash
   * mid-write, a disk error) is logged and treated as empty: the ruleset in force stays, and the
   * next successful apply rewrites the state. Errors: none.
   */
  static async open(opts: ReconcilerOptions): Promise<Reconciler> {
    try {
      return new Reconciler(opts, await loadState(opts.stateDir));
    } catch (err) {
      opts.logger.error({ err: toNftSyncError(err).toJSON(), stateDir: opts.stateDir }, 'state directory unusable; starting without last-known-good');
      return new Reconciler(opts, undefined);
    }
  }

  /** What the host runs now according to the state directory. */
  get state(): AgentState | undefined {
    return this.#state;
  }

  /**
   * If the agent has a last-known-good ruleset and its tables are missing from the host (a
   * reboot, someone flushed the ruleset), apply it again now, before any server is reached.
   * Returns true when it re-applied.
   */
  async restoreLastKnownGood(): Promise<boolean> {
    const st = this.#state;
    if (!st || !st.commit || !st.blob || !this.#applied) return false;
    const present = await this.#opts.nft.listTables();
    const have = new Set(present.map((t) => `${t.family} ${t.name}`));
    if (st.managedTables.every((t) => have.has(`${t.family} ${t.name}`))) return false;
    const { ruleset } = verifyRevision(this.#applied, st.blob, { ruleset: st.ruleset, commit: st.commit });
    await applyRuleset({ nft: this.#opts.nft, ruleset, previouslyManaged: st.managedTables, verify: 'off' });
    this.#opts.logger.warn({ commit: st.commit, ruleset: st.ruleset }, 're-applied last-known-good ruleset');
    return true;
  }

  /**
   * An `ahead` frame's `edits` against blob `base` came (agent/wire/delta-answers.ts): when `base`
   * is the revision in force and no pass runs, work out their early element batch now, while the
   * agent waits for the fetch's answer (early-apply.ts foreseeEarly), so the pass does not. Nothing
   * else is done with them. Never throws.
   */
  foresee(base: string, edits: readonly LineEdit[]): void {
    const inForce = this.inForce;
    const st = this.#state;
    if (this.#busy > 0 || inForce === undefined || st === undefined || inForce.blob !== base || st.pending !== undefined) return;
    foreseeEarly(inForce, st, { drifted: this.drifted, ...(this.#opts.adoptTables && { adoptTables: this.#opts.adoptTables }) }, edits);
  }

  /** True while a pass, a restore or a heal is changing (or confirming) the ruleset. */
  get busy(): boolean {
    return this.#busy > 0;
  }

  /** The confirmed revision in force (bytes and where they came from), if any. */
  get inForce(): ConfirmedRevision | undefined {
    const st = this.#state;
    if (!st?.commit || !st.blob || !this.#applied) return undefined;
    return { bytes: this.#applied, blob: st.blob, ruleset: st.ruleset, commit: st.commit, managedTables: st.managedTables };
  }

  /**
   * Run `work` (preparation for the next pass: tens of ms of this thread for a big ruleset) once
   * no pass, restore or heal runs, now if none does: not in the middle of one, which it would
   * hold up. The latest work given replaces any still waiting.
   */
  #whenIdle(work: () => void): void {
    this.#idleWork = work;
    this.#runIdle();
  }

  #runIdle(): void {
    const work = this.#idleWork;
    if (this.#busy > 0 || work === undefined) return;
    this.#idleWork = undefined;
    work();
  }

  /** Run `fn` alone: passes, restores and heals never overlap. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#busy++;
      try {
        return await fn();
      } finally {
        this.#busy--;
        this.#lastChangeEndedAt = performance.now();
        if (this.#busy === 0 && this.#idleWork !== undefined) setImmediate(() => this.#runIdle());
      }
    };
    const p = this.#lock.then(run, run);
    this.#lock = p.catch(() => {});
    return p;
  }

  /**
   * If the state says a revision was being applied or confirmed when the agent stopped, that
   * revision may be in force unconfirmed: put the last confirmed one back (or delete the
   * unconfirmed tables when there is none), so a ruleset that locks the host out cannot
   * survive a crash or a restart. The revision is tried again afterwards, up to
   * MAX_INTERRUPTIONS restarts in a row, then it counts as failed. Returns true when it restored.
   * Errors: those of applyRuleset (the pending mark then stays, for the next start).
   */
  async recoverInterrupted(): Promise<boolean> {
    return this.exclusive(async () => {
      const st = this.#state;
      if (!st?.pending) return false;
      const { pending } = st;
      this.#held = undefined;
      await restoreConfirmed(this.#opts.nft, this.inForce, pending.managedTables);
      const next = stateAfterInterruption(st, pending, MAX_INTERRUPTIONS, new Date().toISOString());
      const count = next.interrupted?.count;
      await this.#save(next);
      this.#opts.logger.warn({ commit: pending.commit, restored: st.commit ?? null, count }, 'the agent stopped before a revision was confirmed; restored the last confirmed ruleset');
      return true;
    });
  }

  /**
   * Re-apply the confirmed revision in force (self-heal after drift), deleting the tables of a
   * pending mark left in the state. Returns false when there is none. Errors: those of applyRuleset.
   */
  async reapplyInForce(): Promise<boolean> {
    return this.exclusive(async () => {
      const prev = this.inForce;
      if (!prev) return false;
      // With a pending mark left (its restore failed), this heal is that restore tried again:
      // the unconfirmed revision's own tables go too. The mark stays for the next start.
      this.#held = undefined;
      await restoreConfirmed(this.#opts.nft, prev, this.#state?.pending?.managedTables ?? []);
      return true;
    });
  }

  /**
   * The host's managed tables hold `held` (agent --publish listed and published them): a pass
   * that fetches a revision reading the same takes it as applied without running nft
   * (apply-step.ts). Held until forgetHeld or a pass that attempted a revision.
   */
  noteHeld(held: HostHolds): void {
    this.#held = held;
  }

  /** The host may have changed since the last noteHeld (an outside change, a gap in the events). */
  forgetHeld(): void {
    this.#held = undefined;
  }

  /** performance.now() when the last pass, restore or heal ended (0: never). */
  get lastChangeEndedAt(): number {
    return this.#lastChangeEndedAt;
  }

  /**
   * Record a drift for the status report: unhealed, the agent is Degraded (reason Drifted)
   * until the next apply; healed, a `Drifted` condition (status False, reason Healed) keeps
   * the record of what was changed.
   */
  noteDrift(err: NftSyncError, healed: boolean): void {
    // The code goes in once, where the status is built: the message is the drift's own words.
    this.#drift = { message: err.message.slice(0, 4096), healed, at: new Date().toISOString() };
  }

  /** True while a drift that was not healed is recorded (the agent reports Degraded, reason Drifted). */
  get drifted(): boolean {
    return this.#drift !== undefined && !this.#drift.healed;
  }

  /**
   * The managed tables match the revision again (someone undid the change): forget an unhealed
   * drift, so the status goes back to what the last pass said. A healed drift stays on record
   * until the next apply. Returns true when something was cleared.
   */
  clearDrift(): boolean {
    if (!this.drifted) return false;
    this.#drift = undefined;
    return true;
  }

  /**
   * One pass over the steps, fetching with `fetcher` (the wire client, or a test's fake).
   * `retryFailed`: try a revision again although it failed before. `prepareNext: false`: nothing
   * is made ready for a next pass afterwards (a one-shot pull has none: finding the layout of the
   * revision in force alone held its exit 0.5 s for 1,000,000 elements, 1.5 s when it had to be
   * parsed). Never throws; the outcome says it all, and the status follows from it.
   */
  reconcile(fetcher: RevisionFetcher, opts: { retryFailed?: boolean; prepareNext?: boolean } = {}): Promise<ReconcileOutcome> {
    return this.exclusive(async () => {
      let outcome: ReconcileOutcome;
      try {
        outcome = await this.#runSteps(fetcher, opts.retryFailed === true);
      } catch (err) {
        // The steps return data; this is for a bug in one of them, so the daemon's pass still
        // ends with an outcome to report instead of an unhandled rejection.
        outcome = { kind: 'failed', error: toNftSyncError(err, 'NFTSYNC_ERR_STATE_CORRUPT') };
      }
      this.#finish(outcome);
      if (opts.prepareNext === false) return outcome;
      // Once the outcome is out, the next change is made ready for: an nft waiting for the next
      // load (NftRunner.warm), then the fetcher's memory for the next answer (RevisionFetcher.idle).
      // In that order: starting a process forks the agent, which leaves every page of it
      // write-protected until written again (one fault each), memory touched before included.
      // Last, the layout of the revision in force, which the next delta's hint starts from (after
      // a delta it is known: carried by the hint).
      const inForce = this.#applied;
      const confirmed = this.inForce;
      const prepared = ++this.#prepared;
      // Each part waits until no pass runs (a change that came meanwhile is applied first).
      this.#whenIdle(() => {
        void this.#opts.nft
          .warm()
          .catch(() => {})
          .then(() => {
            // A later pass's preparation (waiting or under way) must not be replaced by this
            // one's, which is stale: it would be dropped until yet another pass.
            if (prepared !== this.#prepared) return;
            this.#whenIdle(() => {
              if (inForce !== undefined && inForce === this.#applied) fetcher.idle?.(inForce);
              if (confirmed !== undefined && confirmed.bytes === this.#applied) knowLayout(confirmed);
            });
          });
      });
      return outcome;
    });
  }

  /** fetch → verify → plan → apply → read back → confirm, then record however the pass ended. */
  async #runSteps(fetcher: RevisionFetcher, retryFailed: boolean): Promise<ReconcileOutcome> {
    const ctx: PassContext = {
      opts: this.#opts,
      state: () => this.#state,
      inForce: this.inForce,
      drifted: this.drifted,
      retryFailed,
      ...(this.#held && { held: this.#held }),
      save: (state, applied, opts) => this.#save(state, applied, opts),
      stage: (blob, bytes) => this.#stage(blob, bytes),
      now: () => new Date().toISOString(),
    };
    const run = async (): Promise<StepResult<never>> => {
      const fetched = await fetchStep(ctx, fetcher);
      if (fetched.kind === 'end') return fetched;
      // verify → plan, and a delta's blob id check awaited before the plan is used (plan-checked.ts).
      const plan = await planChecked(ctx, fetched.value);
      if (plan.kind === 'end') return plan;
      const applied = await applyStep(ctx, plan.value);
      if (applied.kind === 'end') return applied;
      const readBack = await readBackStep(ctx, applied.value);
      if (readBack.kind === 'end') return readBack;
      return confirmStep(ctx, readBack.value);
    };
    return recordStep(ctx, (await run()).end);
  }

  /**
   * The one place a pass's outcome reaches the status (and the log): the report transition, and
   * a drift on record forgotten once a revision is newly in force.
   */
  #finish(outcome: ReconcileOutcome): void {
    this.#report = reportAfterPass(this.#report, outcome);
    // A pass that attempted a revision changed (or may have changed) the host, or took the held
    // state as the revision in force: either way the note has served.
    if (outcome.kind === 'applied' || (outcome.kind === 'failed' && outcome.commit !== undefined)) this.#held = undefined;
    if (outcome.kind === 'applied' || (outcome.kind === 'failed' && outcome.recorded)) this.#drift = undefined;
    const log = this.#opts.logger;
    if (outcome.kind === 'applied') log.info({ commit: outcome.commit, blob: outcome.blob, ruleset: outcome.ruleset, ms: Math.round(outcome.apply.durationMs), transaction: outcome.apply.transaction }, 'applied');
    if (outcome.kind === 'failed') log.error({ err: outcome.error.toJSON(), commit: outcome.commit }, 'reconcile failed; previous ruleset stays in force');
  }

  /**
   * Make `state` the state, in memory at once and then on disk, with the bytes in force (`applied`
   * when given) written first unless their file is there already (#onDisk): a pending mark or a
   * new commit of the same blob rewrites 100 bytes of state.json, not a 20 MB ruleset.
   */
  async #save(state: AgentState, applied?: Buffer, opts: { durable?: boolean } = {}): Promise<void> {
    this.#state = state;
    if (applied !== undefined) this.#applied = applied;
    const dir = this.#opts.stateDir;
    const blob = state.blob;
    if (opts.durable === false && applied === undefined && blob !== undefined && blob === this.#pruneKeeps && this.#onDisk.has(blob)) {
      // The pending mark (apply-step.ts), on the path to nft: it writes state.json only and names
      // the blob whose file the pruning in progress keeps, so it need not wait for that pruning
      // (it unlinks only other applied files), nor for a staging (of another blob, which this
      // state.json does not name). It starts no pruning: nothing became garbage.
      await saveState(dir, state, undefined, { prune: false, durable: false });
      return;
    }
    await this.#disk;
    const bytes = blob !== undefined && !this.#onDisk.has(blob) ? this.#applied : undefined;
    await saveState(dir, state, bytes, { prune: false, durable: opts.durable !== false });
    // The other applied files are garbage now: unlinked after the pass's outcome is out, not before.
    this.#onDisk = new Set(blob !== undefined && (bytes !== undefined || this.#onDisk.has(blob)) ? [blob] : []);
    this.#pruneKeeps = blob;
    this.#disk = pruneState(dir, state).catch((err: unknown) => this.#opts.logger.warn({ err: toNftSyncError(err).toJSON() }, 'could not remove stale files from the state directory; the next save tries again'));
  }

  /** PassContext.stage: write `bytes` as applied-BLOB.json now, in the background (see there). */
  #stage(blob: string, bytes: Buffer): void {
    const dir = this.#opts.stateDir;
    this.#disk = this.#disk.then(() =>
      writeAppliedBytes(dir, blob, bytes).then(
        () => void this.#onDisk.add(blob),
        (err: unknown) => this.#opts.logger.warn({ err: toNftSyncError(err).toJSON(), blob }, 'could not stage the applied bytes; they are written when the revision is recorded'),
      ),
    );
  }

  /**
   * Resolves once the state directory's background work is done (bytes staged while nft ran,
   * stale files pruned after a save). A one-shot run waits for it before it returns, and a daemon
   * before it ends, so nothing changes the state directory after them. Never rejects.
   */
  settled(): Promise<void> {
    return this.#disk;
  }

  /** Note a failure that happened outside a pass (the server unreachable). */
  noteError(err: NftSyncError): void {
    this.#report = reportAfterPass(this.#report, { kind: 'failed', error: err });
  }

  /** The status to report now (status-report.ts agentStatus). */
  status(): AgentStatus {
    return agentStatus({
      agent: this.#opts.agent,
      ref: this.#opts.ref,
      state: this.#state,
      report: this.#report,
      drift: this.#drift,
      tagInForce: this.#opts.track ? tagInForce(this.#state, this.#opts.ref) : undefined,
    });
  }
}
