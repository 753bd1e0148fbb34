/**
 * Drift of a big ruleset (more set elements than a listing should pay for: 18 s and 630 MB for
 * 1,000,000), handled from the listener's events instead of listings.
 *
 * - Outside element changes of a set whose keys the agent can read (shared/ruleset/element-key.ts) are
 *   folded into the outstanding element drift (shared/drift/element-drift.ts). With self-heal they are
 *   undone as one small transaction (delete what was added, add back what was deleted: about
 *   10 ms on a 1,000,000-element set, against 4 s for a reload); without, the drift is reported,
 *   and cleared once later outside changes undo it.
 * - Anything else (a rule, a chain, a map element, a transaction too large to list): with
 *   self-heal the ruleset is re-applied; without, a structure-only comparison (terse listing,
 *   elements left out) says what differs, and element changes the agent could not read leave the
 *   drift standing until the next apply.
 * - A gap (transactions nobody saw: the listener was down, the kernel dropped events, someone
 *   committed during the agent's own load): with self-heal, a re-apply, but never twice in a row
 *   for gaps alone (another tool committing in its own tables every few seconds would otherwise
 *   keep the agent re-applying); without, a structure-only comparison and a warning in the log
 *   (element changes in the gap cannot be known without a full listing).
 */
import type { Logger } from 'pino';
import { elementHealBatch, ElementDrift, findDeclared, type SetDrift } from '../../shared/drift/element-drift.js';
import { kernelElements, type ElementKey } from '../../shared/ruleset/element-key.js';
import { toNftSyncError } from '../../shared/errors.js';
import { describeEvent, type TxEvent } from '../../shared/wire/listener-line.js';
import type { ConfirmedRevision } from '../reconcile/confirm-revision.js';
import { compareWithHost } from './drift-compare.js';
import type { NftRunner } from '../../host/nft-runner.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { declaredElements, setId, type RevisionSummary } from './revision-summary.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** Outstanding element changes kept at most (without self-heal); beyond, the drift just stands. */
const MAX_TRACKED = AGENT_DEFAULTS.drift.maxTrackedElements;
/** How long the events of the agent's own delta heal may take to come back looking like someone else's. */
const ECHO_MS = AGENT_DEFAULTS.drift.echoMs;

export interface BigDriftContext {
  nft: NftRunner;
  reconciler: Pick<Reconciler, 'inForce' | 'reapplyInForce' | 'noteDrift' | 'clearDrift' | 'drifted' | 'exclusive'>;
  logger: Logger;
  selfHeal: boolean;
  /** Report a drift (noteDrift and the watcher's onDrift). */
  report(differences: string[], healed: boolean): void;
  /** Report that an unhealed drift cleared. */
  cleared(): void;
}

export class BigRulesetDrift {
  readonly #c: BigDriftContext;
  readonly #elements = new ElementDrift();
  /** The last structure-only comparison's differences (no self-heal). */
  #structure: string[] = [];
  /** Why the element state is not known (no self-heal): the drift then stands until the next apply. */
  #unknown: string | undefined;
  /** The last re-apply was for a gap alone. */
  #gapReapply = false;
  /** The keys of the agent's own recent delta heals (`op set id`), each with the end of its window. */
  #echo = new Map<string, number>();

  constructor(context: BigDriftContext) {
    this.#c = context;
  }

  /** The host was just made equal to a ruleset by the agent's own load: nothing is outstanding. */
  reset(): void {
    this.#elements.clear();
    this.#structure = [];
    this.#unknown = undefined;
  }

  /** The agent's own load ended without a gap: the next gap may be re-applied again. */
  loadSeen(): void {
    this.#gapReapply = false;
  }

  /** Outside events on the managed tables of `prev` (summarised as `summary`). */
  async outside(prev: ConfirmedRevision, summary: RevisionSummary, events: TxEvent[], truncated: boolean): Promise<void> {
    const folded: Array<{ d: Pick<SetDrift, 'ref'>; op: 'add' | 'del'; keys: ElementKey[] }> = [];
    let unreadable: string | undefined = truncated ? 'a transaction too large to follow element by element' : undefined;
    for (const ev of events) {
      if (unreadable) break;
      if (ev.kind !== 'element') {
        unreadable = describeEvent(ev);
        break;
      }
      const ref = { family: ev.family, table: ev.table, name: ev.name ?? '' };
      const shape = summary.sets.get(setId(ref));
      const keys = shape?.ok ? kernelElements(shape.value, ev.elems ?? []) : undefined;
      if (!keys?.ok || ev.count !== ev.elems?.length || ev.op === 'replace') {
        unreadable = `${describeEvent(ev)} (${shape === undefined ? 'not a declared set' : !shape.ok ? shape.reason : keys && !keys.ok ? keys.reason : 'capped'})`;
        break;
      }
      folded.push({ d: { ref }, op: ev.op, keys: keys.value });
    }
    if (!unreadable && this.#isEcho(folded)) return;
    if (unreadable) {
      const differences = events.slice(0, 20).map(describeEvent);
      if (this.#c.selfHeal) return this.#reapply(differences, false);
      if (events.some((e) => e.kind === 'element')) this.#unknown = `element changes that could not be followed: ${unreadable}`;
      return this.#checkStructure();
    }
    for (const f of folded) this.#elements.note(f.d.ref, f.op, f.keys);
    if (this.#elements.size > MAX_TRACKED) {
      // A flood by hand must not grow memory: past the cap, stop following element by element.
      this.#elements.clear();
      if (this.#c.selfHeal) return this.#reapply([`more than ${MAX_TRACKED} element changes`], false);
      this.#unknown = `more than ${MAX_TRACKED} element changes`;
    }
    if (this.#c.selfHeal) return this.#healElements(prev, summary);
    this.#reportStanding();
  }

  /** Transactions nobody saw (`reason`). */
  async gap(reason: string): Promise<void> {
    if (!this.#c.selfHeal) {
      // Most gaps are other tools committing in their own tables: a Drifted status on that
      // suspicion alone would be a false alarm. The structure is checked; elements cannot be.
      this.#c.logger.warn({ reason }, 'drift: transactions were missed on a big ruleset; checking its structure (element changes in them cannot be seen without a full listing)');
      return this.#checkStructure();
    }
    if (this.#gapReapply) {
      this.#c.logger.warn({ reason }, 'drift: transactions by others were missed again during a re-apply; not re-applying for a gap twice in a row (events are followed again from now)');
      this.#gapReapply = false;
      return;
    }
    this.#c.logger.warn({ reason }, 'drift: transactions were missed on a big ruleset; re-applying it to be sure');
    this.#gapReapply = true;
    await this.#reapply([], true);
  }

  #isEcho(folded: Array<{ d: Pick<SetDrift, 'ref'>; op: 'add' | 'del'; keys: ElementKey[] }>): boolean {
    const now = performance.now();
    if (folded.length === 0) return false;
    // The agent's own delta heal seen as someone else's: its --nft command forks nft (sudo),
    // so the PID that committed is not one the agent started.
    return folded.every((f) => f.keys.every((k) => (this.#echo.get(`${f.op} ${setId(f.d.ref)} ${k.id}`) ?? Number.NEGATIVE_INFINITY) >= now));
  }

  async #healElements(prev: ConfirmedRevision, summary: RevisionSummary): Promise<void> {
    const r = this.#c.reconciler;
    await r.exclusive(async () => {
      // Taken, not read: changes by hand noted while this delta runs are the next heal's (they
      // used to be cleared with these after the apply, and stood unhealed).
      const differences = this.#elements.describe();
      const drift = this.#elements.take();
      if (drift.length === 0) return; // undone meanwhile, or an own load reset it
      const inForce = r.inForce ?? prev;
      // Elements put back keep their declared form (a timeout, a comment): found by one pass
      // over the declared set, only when something was deleted.
      const batch = elementHealBatch(drift, (d) => {
        const shape = summary.sets.get(setId(d.ref));
        return shape?.ok ? findDeclared(shape.value, declaredElements(inForce.bytes, d.ref), d.removed) : new Map();
      });
      // The echo: this delta's own events, should they come back looking like someone else's.
      // Its keys are known before it runs (the events may arrive before nft's exit), with no end
      // until it has; then each gets ECHO_MS. An earlier delta's keys keep their own windows
      // (its events may come back after this one started), and expired ones go.
      const before = this.#echo;
      const now = performance.now();
      const echo = new Map<string, number>();
      for (const [key, until] of before) if (until >= now) echo.set(key, until);
      const keys: string[] = [];
      for (const d of drift) {
        for (const id of d.added.keys()) keys.push(`del ${setId(d.ref)} ${id}`);
        for (const id of d.removed.keys()) keys.push(`add ${setId(d.ref)} ${id}`);
      }
      for (const key of keys) echo.set(key, Number.POSITIVE_INFINITY);
      this.#echo = echo;
      try {
        await this.#c.nft.applyJson(batch);
      } catch (err) {
        this.#echo = before;
        this.#c.logger.warn({ err: toNftSyncError(err).toJSON() }, 'drift: the element delta could not be applied; re-applying the ruleset');
        this.#elements.clear();
        void this.#reapply(differences, false);
        return;
      }
      const until = performance.now() + ECHO_MS;
      for (const key of keys) echo.set(key, until);
      this.#c.logger.warn({ differences }, 'drift: element changes to a big set undone');
      this.#c.report(differences, true);
    });
  }

  async #reapply(differences: string[], forGap: boolean): Promise<void> {
    let healed = false;
    try {
      healed = await this.#c.reconciler.reapplyInForce();
    } catch (err) {
      this.#c.logger.error({ err: toNftSyncError(err).toJSON() }, 'self-heal failed');
    }
    if (!forGap) this.#gapReapply = false;
    if (differences.length > 0) {
      this.#c.logger.warn({ differences, healed }, 'drift: the big ruleset in force was changed outside nft-sync; re-applied');
      this.#c.report(differences, healed);
    }
  }

  /** No self-heal: compare the structure (elements left out) and report the drift, or its end. */
  async #checkStructure(): Promise<void> {
    const r = this.#c.reconciler;
    await r.exclusive(async () => {
      const prev = r.inForce;
      if (!prev) return;
      try {
        this.#structure = await compareWithHost(this.#c.nft, prev.bytes, prev.managedTables, { elements: false });
      } catch (err) {
        this.#c.logger.warn({ err: toNftSyncError(err).toJSON() }, 'drift check failed');
        return;
      }
      this.#reportStanding();
    });
  }

  /** No self-heal: report what stands, or clear the drift when nothing does. */
  #reportStanding(): void {
    const differences = [...this.#structure, ...this.#elements.describe(), ...(this.#unknown ? [this.#unknown] : [])];
    if (differences.length === 0) {
      if (this.#c.reconciler.clearDrift()) this.#c.cleared();
      return;
    }
    this.#c.logger.warn({ differences: differences.slice(0, 20), selfHeal: false }, 'drift: the ruleset in force was changed outside nft-sync');
    this.#c.report(differences, false);
  }
}
