/**
 * Publishing live changes (agent --publish, "reverse GitOps"). The drift watcher tells this
 * publisher of every outside change to a managed table (and of gaps and periodic checks) instead
 * of healing it; once nothing has changed for the quiet period, the publisher lists the managed
 * tables, turns the listing into the repository's ruleset form (shared/ruleset/listing-to-ruleset.ts)
 * and, when it differs from the revision in force, sends it to the server as a new revision of
 * that ruleset on the branch the agent follows (`publish`, docs/protocol.md).
 *
 * Nothing loops: the agent's own transactions never reach here (the listener tells them apart by
 * PID), and a listing equal to the revision in force, or to what it just published, is not sent.
 * Nor is the published state loaded back: the reconciler is told the host holds it
 * (agent/reconcile/host-holds.ts), so the revision the server makes of it is taken as applied
 * without running nft, unless it also carries others' changes.
 * Nothing is lost: a pass of the daemon publishes what is pending before it applies anything
 * (`flush`), so a revision arriving during the quiet period is merged with the change on the
 * server instead of overwriting it. When the server reports a conflict, the condition
 * `Published` (reason PublishConflict) says which objects, and the branch's revision wins.
 */
import type { Logger } from 'pino';
import { AGENT_DEFAULTS } from '../defaults.js';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { listingToRuleset } from '../../shared/ruleset/listing-to-ruleset.js';
import { withExpiredElements } from '../../shared/drift/expired-elements.js';
import { WRITER_MAX_FRAME, type Condition } from '../../shared/wire/messages.js';
import { diffNormalised, normaliseRuleset, type NormalisedRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import type { RulesetItem } from '../../shared/ruleset/ruleset-types.js';
import type { ConfirmedRevision } from '../reconcile/confirm-revision.js';
import type { NftRunner } from '../../host/nft-runner.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { HostHolds } from '../reconcile/host-holds.js';
import { PUBLISH_HEADER_ROOM, type WireClient } from '../wire/wire-client.js';

/** Default quiet period, in seconds, and its upper bound (--publish-quiet; agent/defaults.ts). */
export const DEFAULT_PUBLISH_QUIET_S = AGENT_DEFAULTS.publish.quietMs / 1000;
export const MAX_PUBLISH_QUIET_S = AGENT_DEFAULTS.publish.maxQuietMs / 1000;
/** A publish that failed for a reason that may pass is tried again after this, doubling to the cap. */
const RETRY_MS = AGENT_DEFAULTS.publish.retryMs;
const RETRY_CAP_MS = AGENT_DEFAULTS.publish.retryCapMs;

export interface LivePublisherOptions {
  nft: NftRunner;
  reconciler: Pick<Reconciler, 'inForce' | 'exclusive' | 'noteHeld' | 'forgetHeld'>;
  logger: Logger;
  /** The branch the agent follows. */
  ref: string;
  /** Quiet period in ms (DEFAULT_PUBLISH_QUIET_S s by default). */
  quietMs?: number;
  /** The connection to the server now, if any. */
  client(): WireClient | undefined;
  /** Called after each publish attempt that changed the condition (the daemon reports status). */
  onCondition?: (condition: Condition) => void;
}

export type PublishOutcome =
  | { kind: 'none'; reason: string }
  | { kind: 'published'; commit: string; rebased: boolean; unchanged: boolean }
  | { kind: 'failed'; error: NftSyncError };

export class LivePublisher {
  readonly #o: LivePublisherOptions;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MS;
  #condition: Condition | undefined;
  /**
   * The canonical form of the last ruleset published from the revision `base`, and the commit it
   * became: not sent again while `base` is still in force (until the agent applies the result).
   * `exact`: the commit holds just that state (not merged onto others' changes), so a later
   * listing may be compared with it and published over it.
   */
  #published: { canon: string; commit: string; base: string; normalised: NormalisedRuleset; exact: boolean } | undefined;
  /** Outside changes seen so far (changed('event')): one during a publish makes its listing stale. */
  #events = 0;
  /** Likewise the last state the server refused for good (denied, invalid), per revision in force. */
  #refused: { canon: string; base: string } | undefined;
  #stopped = false;
  /** The revision in force when a publish was last refused as too large (logged once per revision). */
  #tooLargeAt: string | undefined;

  constructor(opts: LivePublisherOptions) {
    this.#o = opts;
  }

  /** The `Published` condition for the status report, once something was published or refused. */
  get condition(): Condition | undefined {
    return this.#condition;
  }

  /** True while a change waits for its quiet period (or a failed publish for its retry). */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * A managed table may have changed (`event`: an outside change or a gap in the events), or the
   * periodic check asks for a look (`check`): publish once nothing has changed for the quiet
   * period. After an event the host may no longer hold what was last published, so the
   * reconciler forgets it (a revision of it is then loaded as usual).
   */
  changed(kind: 'event' | 'check' = 'event'): void {
    if (kind === 'event') {
      this.#events += 1;
      this.#o.reconciler.forgetHeld();
    }
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), this.#o.quietMs ?? DEFAULT_PUBLISH_QUIET_S * 1000);
    this.#timer.unref();
  }

  /** Stop the timers (the daemon is stopping). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * Publish now what is pending (the daemon calls this before every pass, so nothing it applies
   * overwrites an unpublished change). Runs alone with passes and heals. Never throws.
   */
  async flush(): Promise<PublishOutcome> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const outcome = await this.#o.reconciler.exclusive(() => this.#publishOnce()).catch((err: unknown) => ({ kind: 'failed' as const, error: toNftSyncError(err) }));
    if (outcome.kind === 'failed' && outcome.error.retryable && !this.#stopped) {
      this.#o.logger.warn({ err: outcome.error.toJSON(), retryInMs: this.#retryMs }, 'publish failed; trying again');
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.flush(), this.#retryMs);
      this.#timer.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_CAP_MS);
    } else if (outcome.kind !== 'failed') {
      this.#retryMs = RETRY_MS;
    }
    return outcome;
  }

  async #publishOnce(): Promise<PublishOutcome> {
    const prev = this.#o.reconciler.inForce;
    if (!prev) return { kind: 'none', reason: 'no revision in force' };
    // A change by hand after the listing below (while it is read or published) takes back the
    // note that the host holds what was listed: the note is made only if none came.
    const events = this.#events;
    const noteHeld = (held: HostHolds): void => {
      if (this.#events === events) this.#o.reconciler.noteHeld(held);
    };
    const connected = this.#o.client();
    // What one publish frame may carry on this connection (8 MiB to a writer: wire.writerMaxFrame).
    const cap = (connected && !connected.closed ? connected.welcome.maxFrame : WRITER_MAX_FRAME) - PUBLISH_HEADER_ROOM;
    // A revision that large is not listed at all (a listing pays for every element: 20 s and
    // 650 MB for 1,000,000), since its live state could not be sent anyway.
    if (prev.bytes.length > cap) return this.#tooLarge(prev, prev.bytes.length, cap, 'the revision in force');
    const declared = parseRuleset(prev.bytes);
    // Elements the revision declares with a timeout and the kernel expired are not a live change:
    // put back as declared, so the repository keeps them (shared/drift/expired-elements.ts).
    const live = withExpiredElements(await this.#liveRuleset(prev), declared);
    const tables = prev.managedTables;
    const normalised = normaliseRuleset(live, tables);
    const canon = JSON.stringify(normalised);
    const held = { canon, tables, base: prev.commit };
    // What this agent published from the revision in force, not applied yet. Listed again, the
    // host needs no load. Otherwise, when the commit holds just that state (`exact`), the branch
    // is there now: the host is compared with it and published over it, so a change undone by
    // hand after its listing was published is published too (it matches the revision in force
    // again, not the branch). A commit merged onto others' changes (rebased) also holds theirs,
    // which the host never applied: published over, they would be undone; the host is compared
    // with the revision in force instead, and the branch's commit replaces an undoing.
    const published = this.#published?.base === prev.commit ? this.#published : undefined;
    if (published?.canon === canon) {
      // The host holds what was published (listed just now): its revision needs no load.
      noteHeld({ ...held, commit: published.commit });
      return { kind: 'none', reason: `already published as ${published.commit}` };
    }
    const since = published?.exact ? published : undefined;
    const differences = diffNormalised(since?.normalised ?? normaliseRuleset(declared, tables), normalised);
    if (differences.length === 0) return { kind: 'none', reason: 'the managed tables match the revision in force' };
    const bytes = Buffer.from(`${JSON.stringify(live, null, 2)}\n`);
    if (bytes.length > cap) return this.#tooLarge(prev, bytes.length, cap, 'the live managed tables');
    const base = since?.commit ?? prev.commit;
    if (this.#refused?.canon === canon && this.#refused.base === base) return { kind: 'none', reason: 'the server refused this state already (see the Published condition)' };
    const client = this.#o.client();
    if (!client || client.closed) return { kind: 'failed', error: new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'not connected to the server: the live change is published once connected') };
    const log = this.#o.logger.child({ ruleset: prev.ruleset, base });
    try {
      const r = await client.publish({ ref: this.#o.ref, ruleset: prev.ruleset, base, bytes });
      this.#published = { canon, commit: r.commit, base: prev.commit, normalised, exact: !r.rebased };
      // The revision the server announces next is this state: the host holds it already.
      noteHeld({ ...held, commit: r.commit });
      log.info({ commit: r.commit, rebased: r.rebased, unchanged: r.unchanged, changes: differences.slice(0, 20) }, 'published a live change');
      this.#setCondition({ type: 'Published', status: 'True', reason: r.rebased ? 'Rebased' : 'Published', message: `${new Date().toISOString()} ${r.commit}: ${differences.slice(0, 5).join('; ')}`.slice(0, 4096) });
      return { kind: 'published', commit: r.commit, rebased: r.rebased, unchanged: r.unchanged };
    } catch (err) {
      const e = toNftSyncError(err);
      if (e.code === 'NFTSYNC_ERR_PUBLISH_CONFLICT') {
        log.error({ err: e.toJSON(), reason: 'PublishConflict', lost: differences.slice(0, 20) }, `PublishConflict: the live change was not published and the branch's revision will replace it: ${e.message}`);
        this.#setCondition({ type: 'Published', status: 'False', reason: 'PublishConflict', message: `${new Date().toISOString()} ${e.code}: ${e.message}`.slice(0, 4096) });
      } else if (!e.retryable) {
        this.#refused = { canon, base };
        log.error({ err: e.toJSON() }, 'live change refused by the server');
        this.#setCondition({ type: 'Published', status: 'False', reason: e.code === 'NFTSYNC_ERR_PUBLISH_DENIED' ? 'PublishDenied' : 'PublishRefused', message: `${new Date().toISOString()} ${e.code}: ${e.message}`.slice(0, 4096) });
      }
      return { kind: 'failed', error: e };
    }
  }

  /**
   * Refuse to publish `size` bytes of `what`, over the `cap` a publish frame may carry: logged
   * once per revision in force, and the `Published` condition (status False, reason
   * PublishTooLarge) says so. The live change stays in force, unpublished and not healed.
   */
  #tooLarge(prev: ConfirmedRevision, size: number, cap: number, what: string): PublishOutcome {
    const error = new NftSyncError(
      'NFTSYNC_ERR_FRAME_TOO_LARGE',
      `live change to ruleset ${prev.ruleset} not published: ${what} take ${size} bytes, more than the ${cap} bytes a publish may carry on this connection (wire.writerMaxFrame); change this ruleset through git or the API`,
      { data: { length: size, limit: cap } },
    );
    if (this.#tooLargeAt !== prev.commit) {
      this.#tooLargeAt = prev.commit;
      this.#o.logger.error({ err: error.toJSON(), ruleset: prev.ruleset, base: prev.commit, reason: 'PublishTooLarge' }, `PublishTooLarge: ${error.message}`);
      this.#setCondition({ type: 'Published', status: 'False', reason: 'PublishTooLarge', message: `${new Date().toISOString()} ${error.code}: ${error.message}`.slice(0, 4096) });
    }
    return { kind: 'failed', error };
  }

  #setCondition(c: Condition): void {
    this.#condition = c;
    this.#o.onCondition?.(c);
  }

  /** The managed tables as nft lists them now, in the repository's ruleset form. */
  async #liveRuleset(prev: ConfirmedRevision) {
    const items: RulesetItem[] = [];
    for (const t of prev.managedTables) {
      const doc = await this.#o.nft.listTable(t.family, t.name).catch((err: unknown) => {
        // A managed table deleted by hand: its deletion is the change.
        if (err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_NFT_LIST') return { nftables: [] };
        throw err;
      });
      items.push(...doc.nftables);
    }
    return listingToRuleset({ nftables: items });
  }
}
