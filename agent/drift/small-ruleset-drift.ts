/**
 * Drift of a small ruleset (up to AUTO_FULL_MAX_ELEMENTS set elements): after an outside event,
 * a gap or on the periodic check, list the managed tables and compare them with the revision
 * (agent/drift/drift-compare.ts, about 10 ms for default.json). A difference is reported with what
 * changed and, with self-heal, the revision is re-applied; no difference clears a drift that was
 * not healed (someone undid the change).
 */
import type { Logger } from 'pino';
import { toNftSyncError } from '../../shared/errors.js';
import type { ConfirmedRevision } from '../reconcile/confirm-revision.js';
import { compareWithHost } from './drift-compare.js';
import type { NftRunner } from '../../host/nft-runner.js';
import type { Reconciler } from '../reconcile/reconciler.js';

export interface SmallDriftContext {
  nft: NftRunner;
  reconciler: Pick<Reconciler, 'busy' | 'inForce' | 'reapplyInForce' | 'clearDrift'>;
  logger: Logger;
  selfHeal: boolean;
  /** Report a drift (noteDrift and the watcher's onDrift). */
  report(differences: string[], healed: boolean): void;
  /** Report that an unhealed drift cleared. */
  cleared(): void;
}

export class SmallRulesetDrift {
  readonly #c: SmallDriftContext;
  /** The differences the last heal was meant to remove, and for which revision. */
  #lastHealed: { blob: string; diff: string } | undefined;

  constructor(context: SmallDriftContext) {
    this.#c = context;
  }

  /**
   * Compare the host with `prev`; `outside` says whether outside events led here. Resolves with
   * the differences found (empty: none), or undefined when nothing was judged: a pass, restore or
   * heal started while the tables were listed (the caller compares again once it is over).
   * Errors: those of compareWithHost (the caller logs them).
   */
  async compare(prev: ConfirmedRevision, outside: boolean): Promise<string[] | undefined> {
    const r = this.#c.reconciler;
    const log = this.#c.logger;
    const differences = await compareWithHost(this.#c.nft, prev.bytes, prev.managedTables, { elements: true });
    if (r.busy || r.inForce?.blob !== prev.blob) return undefined; // the revision may have changed meanwhile
    if (differences.length === 0) {
      if (r.clearDrift()) {
        log.info('drift cleared: the managed tables match the revision again');
        this.#c.cleared();
      }
      return [];
    }
    // Differences that survive a heal unchanged, with no outside event since, are not drift but
    // how nft lists this revision (a read-back mismatch): healing again would loop on the
    // events of its own apply. A person making the same change again is an outside event.
    const diff = differences.join('\n');
    const futile = !outside && this.#lastHealed?.blob === prev.blob && this.#lastHealed.diff === diff;
    const heal = this.#c.selfHeal && !futile;
    if (futile) log.warn('the same differences survived a re-apply: not healing again (nft lists this revision differently from its file)');
    log.warn({ differences: differences.slice(0, 20), selfHeal: heal }, 'drift: the ruleset in force was changed outside nft-sync');
    let healed = false;
    if (heal) {
      try {
        healed = await r.reapplyInForce();
        this.#lastHealed = { blob: prev.blob, diff };
      } catch (err) {
        log.error({ err: toNftSyncError(err).toJSON() }, 'self-heal failed');
      }
    }
    this.#c.report(differences, healed);
    return differences;
  }
}
