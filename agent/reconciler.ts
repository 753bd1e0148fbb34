/**
 * One reconcile of an agent, as the ordered steps it takes: fetch the revision, verify it,
 * apply it (one atomic nft transaction, read back), record it. The first failing step ends the
 * pass; whatever happens, the previous ruleset stays in force unless the new one was applied
 * in full. `lastAttempted` is recorded before apply, the applied revision only after success.
 */
import type { Logger } from 'pino';
import { isErrorCode, NftSyncError, toNftSyncError } from '../shared/errors.js';
import type { AgentStatus } from '../shared/wire/messages.js';
import { applyRuleset, type ApplyRulesetResult } from './apply-ruleset.js';
import type { NftRunner } from '../host/nft-runner.js';
import { loadState, saveState, type AgentState, type LoadedState } from './state-store.js';
import { buildStatus } from './status-report.js';
import { assertNotOlder, releaseRecordOf, type ReleaseRecord } from './release-record.js';
import { checkAnswerMatchesRequest, checkNotDowngrade, type AskedRevision } from '../shared/release/release-guard.js';
import { stateAfterApply, stateAfterRefusal, tagInForce } from './revision-state.js';
import { verifyRelease } from './verify-release.js';
import { verifyRevision } from './verify-revision.js';
import { managedTables } from '../shared/ruleset/ruleset-schema.js';
import { highestTag } from '../shared/release/semver.js';
import type { FetchResult, WireClient } from './wire-client.js';
import { confirmOrRestore, restoreConfirmed, type ConfirmedRevision, type ConfirmOptions } from './confirm-revision.js';
import { stateAfterInterruption } from './interrupted-revision.js';
import type { TableRef } from '../shared/ruleset/ruleset-types.js';
import type { TablePattern } from '../shared/ruleset/table-pattern.js';
import { assertTablesFree } from './claim-tables.js';

/** After this many restarts in the middle of one revision's confirm window, it counts as failed. */
const MAX_INTERRUPTIONS = 3;

export interface ReconcilerOptions {
  agent: string;
  /** The ref followed; with `track`, a tag pattern whose highest semantic version is followed. */
  ref: string;
  track?: boolean;
  /** Ruleset name; without it the server chooses by the agent's name. */
  ruleset?: string;
  nft: NftRunner;
  stateDir: string;
  logger: Logger;
  /** Run `nft -c` before applying (costs as much as the apply itself). */
  check?: boolean;
  /** Signed releases: apply only revisions reached through a tag signed by a key in this file. */
  allowedSigners?: string;
  /** With `track`: move to a lower version than the tag in force (otherwise held, see release-guard.ts). */
  allowDowngrade?: boolean;
  /** Commit-confirmed (agent/confirm-revision.ts); off when absent or windowMs is 0. */
  confirm?: ConfirmOptions;
  /** Existing tables a revision may replace although the agent did not create them (--adopt-tables). */
  adoptTables?: readonly TablePattern[];
}

export type ReconcileOutcome =
  | { kind: 'applied'; commit: string; blob: string; ruleset: string; apply: ApplyRulesetResult }
  | { kind: 'unchanged'; commit: string; blob: string; ruleset: string }
  | { kind: 'skipped'; commit: string; blob: string; reason: string }
  | { kind: 'failed'; error: NftSyncError; commit?: string };

export class Reconciler {
  readonly #opts: ReconcilerOptions;
  #state: AgentState | undefined;
  #applied: Buffer | undefined;
  #lastError: { code: NftSyncError['code']; message: string } | undefined;
  #attempted: string | undefined;
  /** The tag of the revision in force (tracked patterns), not of one being tried or refused. */
  #tag: string | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #lastChangeEndedAt = 0;
  #drift: { message: string; healed: boolean; at: string } | undefined;

  constructor(opts: ReconcilerOptions, loaded: LoadedState | undefined) {
    this.#opts = opts;
    this.#state = loaded?.state;
    this.#applied = loaded?.applied;
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

  /** Run `fn` alone: passes, restores and heals never overlap. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#busy++;
      try {
        return await fn();
      } finally {
        this.#busy--;
        this.#lastChangeEndedAt = performance.now();
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
      await restoreConfirmed(this.#opts.nft, this.inForce, pending.managedTables);
      const next = stateAfterInterruption(st, pending, MAX_INTERRUPTIONS);
      const count = next.interrupted?.count;
      this.#state = next;
      await saveState(this.#opts.stateDir, next, this.#applied);
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
      await restoreConfirmed(this.#opts.nft, prev, this.#state?.pending?.managedTables ?? []);
      return true;
    });
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

  /** One pass over the steps, using `client` to fetch. Never throws; the outcome says it all. */
  reconcile(client: WireClient, opts: { retryFailed?: boolean } = {}): Promise<ReconcileOutcome> {
    // The steps catch what they expect; this catches the rest (a state file that cannot be
    // written on the unchanged or read-back path: the only IO outside them), so the daemon's
    // pass always ends with an outcome to report instead of an unhandled rejection.
    return this.exclusive(() =>
      this.#reconcile(client, opts).catch((err: unknown) => this.#failed(toNftSyncError(err, 'NFTSYNC_ERR_STATE_CORRUPT'), this.#attempted)),
    );
  }

  async #reconcile(client: WireClient, opts: { retryFailed?: boolean }): Promise<ReconcileOutcome> {
    const log = this.#opts.logger;
    const st = this.#state;
    const have = st?.commit && st.blob && st.ruleset === (this.#opts.ruleset ?? st.ruleset) ? { commit: st.commit, blob: st.blob } : undefined;
    const asked: AskedRevision = { ref: this.#opts.ref, track: this.#opts.track, ruleset: this.#opts.ruleset, have };
    let fetched: FetchResult;
    try {
      fetched = await client.fetch({
        ref: this.#opts.ref,
        track: this.#opts.track,
        ruleset: this.#opts.ruleset,
        have,
        ...(this.#opts.allowedSigners && { proof: true }),
      });
    } catch (err) {
      return this.#failed(toNftSyncError(err), undefined);
    }
    const { commit, blob, ruleset: name } = fetched;
    try {
      // An answer to another question is never acted on, nor a lower release than the one in force.
      checkAnswerMatchesRequest(asked, fetched);
      if (this.#opts.track) checkNotDowngrade({ pattern: this.#opts.ref, inForce: this.#tagInForce(), offered: fetched.tag!, allowDowngrade: this.#opts.allowDowngrade });
    } catch (err) {
      this.#attempted = commit;
      return this.#failed(toNftSyncError(err), commit);
    }
    if (fetched.kind === 'unchanged') {
      this.#tag = fetched.tag;
      this.#lastError = undefined;
      this.#attempted = commit;
      // A signed agent takes its tag in force only from a verified release (an `unchanged`
      // carries no proof); an unsigned one trusts the server for everything anyway.
      const tag = this.#opts.track && !this.#opts.allowedSigners ? fetched.tag : this.#state?.tag;
      if (this.#state && (this.#state.commit !== commit || this.#state.lastFailed || this.#state.tag !== tag)) {
        const { lastFailed: _drop, tag: _tag, ...rest } = this.#state;
        this.#state = { ...rest, commit, ref: this.#opts.ref, ...(tag !== undefined && { tag }) };
        await saveState(this.#opts.stateDir, this.#state, this.#applied);
      }
      return { kind: 'unchanged', commit, blob, ruleset: name };
    }
    let release: ReleaseRecord | undefined;
    if (this.#opts.allowedSigners) {
      // Before the failed-blob check: a refused tag says nothing against the ruleset's bytes.
      try {
        const { claimedRef, recordKey } = this.#releaseRefs(fetched.tag);
        const checked = await verifyRelease(fetched, claimedRef, this.#opts.allowedSigners, { agent: this.#opts.agent, ruleset: this.#opts.ruleset });
        assertNotOlder(this.#state?.release, recordKey, checked, { otherTagAllowed: this.#opts.track && this.#opts.allowDowngrade });
        release = releaseRecordOf(recordKey, checked);
        log.info({ tag: checked.tag.tag, signer: checked.tag.taggerEmail, commit }, 'release signature verified');
      } catch (err) {
        this.#attempted = commit;
        return this.#failed(toNftSyncError(err), commit);
      }
    }
    const failed = this.#state?.lastFailed;
    if (failed && failed.blob === blob && !opts.retryFailed) {
      this.#lastError = { code: isErrorCode(failed.code) ? failed.code : 'NFTSYNC_ERR_NFT_APPLY', message: failed.message };
      this.#attempted = commit;
      return { kind: 'skipped', commit, blob, reason: `blob ${blob} already failed (${failed.code}); waiting for a newer revision` };
    }
    this.#attempted = commit;
    const previous = this.inForce;
    // The mark this attempt's own replaces: it comes back if nft refuses (nothing changed then).
    const priorPending = this.#state?.pending;
    let newTables: TableRef[] = [];
    try {
      const { ruleset } = verifyRevision(fetched.bytes, blob, { ruleset: name, commit });
      // A pending mark still here (its restore failed at start, or after a refused confirm)
      // names tables that may be in force unconfirmed: this apply owns them too, so they go
      // unless the new revision declares them, and a crash before it is confirmed restores over them.
      const leftover = this.#state?.pending?.managedTables ?? [];
      const owned = unionTables(this.#state?.managedTables ?? [], leftover);
      // Before the pending mark: a restart restores over the tables it names (claim-tables.ts).
      await assertTablesFree(this.#opts.nft, managedTables(ruleset), owned, this.#opts.adoptTables ?? []);
      newTables = unionTables(managedTables(ruleset), leftover);
      await this.#markPending({ commit, blob, ruleset: name, managedTables: newTables, startedAt: new Date().toISOString() });
      const apply = await applyRuleset({ nft: this.#opts.nft, ruleset, previouslyManaged: owned, adopt: this.#opts.adoptTables, check: this.#opts.check });
      const refused = await this.#confirm(commit, blob, previous, newTables);
      if (refused) return this.#failed(refused, commit);
      await this.#recordApplied(name, commit, blob, fetched.bytes, apply.managedTables, { tag: fetched.tag, release });
      this.#lastError = undefined;
      log.info({ commit, blob, ruleset: name, ms: Math.round(apply.durationMs) }, 'applied');
      return { kind: 'applied', commit, blob, ruleset: name, apply };
    } catch (err) {
      const e = toNftSyncError(err);
      if (e.code === 'NFTSYNC_ERR_READBACK_MISMATCH' || e.code === 'NFTSYNC_ERR_NFT_LIST') {
        // The transaction happened: the new revision is in force even though its read-back
        // failed or differs. Record it as applied and report the condition (Degraded).
        const refused = await this.#confirm(commit, blob, previous, newTables);
        if (refused) return this.#failed(refused, commit);
        await this.#recordApplied(name, commit, blob, fetched.bytes, e.data?.managedTables as AgentState['managedTables'] | undefined, { tag: fetched.tag, release });
        return this.#failed(e, commit);
      }
      if (!e.retryable) {
        // nft refused the batch or could not run: nothing changed, so this attempt's pending mark
        // goes and an older one (tables that may be in force unconfirmed) stays. Only a refusal
        // says something against the revision; nft that cannot be started (a wrong --nft, a
        // failed fork) or a table someone else owns (fixed by --adopt-tables or by its owner)
        // must not keep the revision out once the host is fixed.
        const current = this.#state ?? { ref: this.#opts.ref, ruleset: name, managedTables: [] };
        const failed = e.code === 'NFTSYNC_ERR_NFT_EXEC' || e.code === 'NFTSYNC_ERR_TABLE_NOT_OWNED' ? undefined : { commit, blob, code: e.code, message: e.message, at: new Date().toISOString() };
        this.#state = stateAfterRefusal(current, priorPending, failed);
        await saveState(this.#opts.stateDir, this.#state, this.#applied).catch((err2) =>
          log.error({ err: toNftSyncError(err2).toJSON() }, 'could not record the failed revision'),
        );
      }
      return this.#failed(e, commit);
    }
  }

  /** Note a failure that happened outside a pass (the server unreachable). */
  noteError(err: NftSyncError): void {
    this.#lastError = { code: err.code, message: err.message };
  }

  /** The status to report now. */
  status(): AgentStatus {
    const st = this.#state;
    const drift = this.#drift;
    const status = buildStatus({
      agent: this.#opts.agent,
      ref: this.#opts.ref,
      inForce: st?.commit && st.blob ? { ruleset: st.ruleset, commit: st.commit, blob: st.blob, appliedAt: st.appliedAt ?? '' } : undefined,
      attemptedCommit: this.#attempted,
      error: this.#lastError ?? (drift && !drift.healed ? { code: 'NFTSYNC_ERR_DRIFTED', message: drift.message } : undefined),
      tag: this.#tagInForce() ?? this.#tag,
    });
    if (drift) status.conditions.push({ type: 'Drifted', status: drift.healed ? 'False' : 'True', reason: drift.healed ? 'Healed' : 'Drifted', message: `${drift.at} ${drift.message}`.slice(0, 4096) });
    return status;
  }

  async #markPending(pending: NonNullable<AgentState['pending']>): Promise<void> {
    this.#state = { ...(this.#state ?? { ref: this.#opts.ref, ruleset: pending.ruleset, managedTables: [] }), pending };
    await saveState(this.#opts.stateDir, this.#state, this.#applied);
  }

  /**
   * The confirm window after `commit` was applied. Returns undefined when confirmed (or the
   * guard is off); otherwise restores `previous`, records the revision as failed and returns
   * the NFTSYNC_ERR_CONFIRM_FAILED error to report.
   */
  async #confirm(commit: string, blob: string, previous: ConfirmedRevision | undefined, newTables: TableRef[]): Promise<NftSyncError | undefined> {
    const guard = this.#opts.confirm;
    if (!guard || guard.windowMs <= 0) return undefined;
    const refused = await confirmOrRestore(guard, { nft: this.#opts.nft, logger: this.#opts.logger, commit, blob, previous, newTables });
    if (!refused) return undefined;
    const { error: err, restored } = refused;
    // If the restore failed, the pending mark stays so the next start tries again.
    const { pending, lastFailed, ...base } = this.#state ?? { ref: this.#opts.ref, ruleset: previous?.ruleset ?? '', managedTables: [] };
    if (!restored && pending) (base as AgentState).pending = pending;
    // An interrupted window (pull stopped by a signal) says nothing against the revision.
    const failed = err.code === 'NFTSYNC_ERR_INTERRUPTED' ? lastFailed : { commit, blob, code: err.code, message: err.message, at: new Date().toISOString() };
    this.#state = { ...base, ...(failed && { lastFailed: failed }) };
    await saveState(this.#opts.stateDir, this.#state, this.#applied);
    return err;
  }

  /**
   * Which tag a signed release must carry, and the key its record is kept under. Following a
   * tag: that tag. Tracking a pattern: the tag the server chose, which must match the pattern;
   * its record is per pattern, so a server cannot go back to an older release of the channel.
   */
  #releaseRefs(tag: string | undefined): { claimedRef: string; recordKey: string } {
    if (!this.#opts.track) return { claimedRef: this.#opts.ref, recordKey: this.#opts.ref };
    if (tag === undefined || highestTag([tag], this.#opts.ref) !== tag) {
      throw new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', `the server chose tag ${JSON.stringify(tag)}, which is not a release matching ${JSON.stringify(this.#opts.ref)}`);
    }
    return { claimedRef: tag, recordKey: `track:${this.#opts.ref}` };
  }

  #tagInForce(): string | undefined {
    return this.#opts.track ? tagInForce(this.#state, this.#opts.ref) : undefined;
  }

  async #recordApplied(ruleset: string, commit: string, blob: string, bytes: Buffer, managed: TableRef[] | undefined, released: { tag?: string; release?: ReleaseRecord }): Promise<void> {
    this.#state = stateAfterApply(this.#state, {
      ref: this.#opts.ref,
      ruleset,
      commit,
      blob,
      managedTables: managed ?? managedTables(verifyRevision(bytes, blob, { ruleset, commit }).ruleset),
      appliedAt: new Date().toISOString(),
      ...(this.#opts.track && released.tag !== undefined && { tag: released.tag }),
      ...(released.release && { release: released.release }),
    });
    this.#applied = bytes;
    this.#tag = released.tag;
    this.#drift = undefined;
    await saveState(this.#opts.stateDir, this.#state, bytes);
  }

  #failed(error: NftSyncError, commit: string | undefined): ReconcileOutcome {
    this.#lastError = { code: error.code, message: error.message };
    this.#opts.logger.error({ err: error.toJSON(), commit }, 'reconcile failed; previous ruleset stays in force');
    return { kind: 'failed', error, commit };
  }
}

/** `a` then the tables of `b` not in `a`. */
function unionTables(a: readonly TableRef[], b: readonly TableRef[]): TableRef[] {
  const seen = new Set(a.map((t) => `${t.family} ${t.name}`));
  return [...a, ...b.filter((t) => !seen.has(`${t.family} ${t.name}`))];
}
