/**
 * The smallest atomic transaction that turns the ruleset in force (`from`, a revision the agent
 * applied and knows is unchanged on the host) into a new one (`to`), or the full replacement
 * (shared/apply-plan.ts) when that is unsafe or would be slower. Pure; no IO.
 *
 * Table by table, each table ends up in one of these states:
 * - untouched: nothing in it changed; it is not named in the batch at all;
 * - patched: only what changed is sent, in this order inside the one batch
 *     1. element deletes of sets and maps that stay (by key: `delete element` takes the key),
 *     2. `flush set` of sets refilled, `flush chain` of chains whose rules changed,
 *     3. `delete` of sets, maps, chains and named objects the new revision drops (after the
 *        flushes and element deletes that could still reference them),
 *     4. `add` of new chains, named objects and sets (elements inline), then elements added to
 *        sets that stay (a new verdict-map element may jump to a new chain), then the rules of
 *        changed and new chains, in file order;
 * - replaced: exactly what the full replacement does for that table (add, delete, re-declare);
 *   used when the table's own attributes, a chain's hook/type/policy, a set's definition (type,
 *   flags, policy, timeout, size) or a named object changed: those cannot be changed in place,
 *   and re-creating them would mean finding every rule that references them;
 * - created / deleted: a table only the new / old revision declares (as the full replacement).
 *
 * Element changes, per set: a hash set or map (and a concatenated interval one) takes deletes
 * and adds by key, even of the same key (a map element whose data changed, an element whose
 * timeout changed). A single-field interval set (rbtree) takes adds only: nft 1.0.6 refuses an
 * add that overlaps an element deleted in the same batch ("interval overlaps with an existing
 * one"), so with deletions it is refilled (`flush set` + every element) or replaced with its
 * table, whichever the cost model (transaction-cost.ts) says is cheaper. Any set is refilled
 * instead of patched when that is estimated at less than half the cost of the element delta. Changes to a set holding
 * a catch-all element (`*`) in an interval set, or with `auto-merge`, replace the table (nft
 * 1.0.6 crashes adding a catch-all through `add element`; auto-merge rewrites elements).
 * Elements with timeouts that did not change are left running, not re-armed.
 *
 * The choice: a table is patched only when its patch costs less than replacing it, and the
 * whole batch is the full replacement when no table is patched or the total estimate is not
 * below the full one. So the minimal transaction is never estimated slower than the full one.
 * Any refusal of the delta by nft (an element expired meanwhile, a host that did not match
 * `from` after all) changes nothing, being atomic: the caller then applies the full replacement.
 */
import { buildApplyTransaction, type NftCommandBatch } from './apply-plan.js';
import type { Ruleset, RulesetItem, TableRef } from './ruleset-types.js';
import { itemBody, tableLabel } from './ruleset-items.js';
import type { ElementHint, ElementListChange } from './element-hint.js';
import { diffElements, diffElementsByHint, elementKey, indexTables, isConcatenated, isInterval, canonicalJson, type IndexedSet, type IndexedTable } from './table-index.js';
import { elementDeltaCost, loadSetCost, refillCost, rulesCost, LOAD_OBJECT_S } from './transaction-cost.js';

export interface TransactionSummary {
  tablesCreated: string[];
  tablesDeleted: string[];
  tablesReplaced: string[];
  tablesPatched: string[];
  /** Chains whose rules are flushed and re-added, plus chains added or deleted (`inet t input`). */
  chainsChanged: string[];
  /** Sets emptied and loaded again (`inet t blk`). */
  setsRefilled: string[];
  elementsAdded: number;
  elementsDeleted: number;
}

export interface MinimalTransaction {
  /** 'delta': `batch` changes only what differs; 'full': `batch` is buildApplyTransaction's. */
  kind: 'delta' | 'full';
  batch: NftCommandBatch;
  /** Why the full replacement was chosen, or what the delta does, in words. */
  reason: string;
  /** Estimated seconds of each (transaction-cost.ts). */
  estimate: { delta: number; full: number };
  summary: TransactionSummary;
  /** True when the element changes were taken from a hint (elementHint) instead of comparing the elements. */
  hinted: boolean;
}

type Cmd = Record<string, unknown>;

interface TablePatch {
  cost: number;
  /** Undefined: the table cannot be patched (the reason says why). */
  phases?: { first: Cmd[]; flush: Cmd[]; drop: Cmd[]; add: Cmd[]; elements: Cmd[]; rules: Cmd[] };
  reason?: string;
  chains: string[];
  refilled: string[];
  added: number;
  deleted: number;
}

/** What loading table `t` whole costs; `size`: how many elements each set holds (default: its own). */
function tableCost(t: IndexedTable, size: (s: IndexedSet) => number = (s) => s.elem.length): number {
  let c = LOAD_OBJECT_S * (1 + t.chains.size + t.objects.size);
  for (const r of t.rules.values()) c += rulesCost(r.length);
  for (const s of t.sets.values()) c += loadSetCost({ interval: isInterval(s.body), elements: size(s) });
  return c;
}

const id = (t: TableRef, name: string): string => `${tableLabel(t)} ${name}`;
const place = (t: TableRef, name: string): Cmd => ({ family: t.family, table: t.name, name });

function sameRules(a: readonly Cmd[], b: readonly Cmd[]): boolean {
  return a.length === b.length && a.every((r, i) => canonicalJson(r) === canonicalJson(b[i]));
}

function hasCatchAll(elem: readonly unknown[]): boolean {
  return elem.some((e) => elementKey(e) === '*');
}

/**
 * The elements `b` adds to `a` and those it drops: from the hint when there is one (a set it does
 * not name is unchanged: the bytes around it are the same), else by comparing them.
 */
function elementChanges(a: IndexedSet, b: IndexedSet, hint: ElementHint | undefined): { added: unknown[]; deleted: unknown[] } {
  if (hint === undefined || a.item !== b.item) return diffElements(a.elem, b.elem);
  const edit = hint.sets.get(b.item);
  if (edit === undefined) return { added: [], deleted: [] };
  return diffElementsByHint(a.elem, b.elem, edit.deleted, edit.added, edit.signatures);
}

/** `a` → `b` by `added` and `deleted`, per patchSet's cost rule: `delete element` and `add element` (by key), unless refilling is clearly cheaper. */
function elementPatch(a: IndexedSet, bSize: number, interval: boolean, added: readonly unknown[], deleted: readonly unknown[]): { cost: number; refill: number } {
  const inPlaceOk = !interval || isConcatenated(a.body) || deleted.length === 0;
  return { cost: inPlaceOk ? elementDeltaCost(interval, a.elem.length, added.length, deleted.length) : Infinity, refill: refillCost(interval, a.elem.length, bSize) };
}

/** The patch of one set that stays with the same definition; undefined cost: replace the table. */
function patchSet(t: TableRef, name: string, a: IndexedSet, b: IndexedSet, hint: ElementHint | undefined): { cost: number; del?: Cmd; flush?: Cmd; add?: Cmd; refilled: boolean; added: number; deleted: number; reason?: string } {
  const { added, deleted } = elementChanges(a, b, hint);
  if (added.length + deleted.length === 0) return { cost: 0, refilled: false, added: 0, deleted: 0 };
  const interval = isInterval(b.body);
  if (b.body['auto-merge'] === true) return { cost: Infinity, refilled: false, added: 0, deleted: 0, reason: `set ${id(t, name)} has auto-merge` };
  if (interval && (hasCatchAll(a.elem) || hasCatchAll(b.elem))) return { cost: Infinity, refilled: false, added: 0, deleted: 0, reason: `interval set ${id(t, name)} holds a catch-all element` };
  const where = place(t, name);
  const { cost: delta, refill } = elementPatch(a, b.elem.length, interval, added, deleted);
  // A refill touches every element (timeouts re-armed, counters reset): only when clearly cheaper.
  if (delta <= 2 * refill) return { cost: delta, ...elementCommands(where, added, deleted), refilled: false, added: added.length, deleted: deleted.length };
  return {
    cost: refill,
    flush: { flush: { [b.kind]: where } },
    ...(b.elem.length > 0 ? { add: { add: { element: { ...where, elem: b.elem } } } } : {}),
    refilled: true,
    added: added.length,
    deleted: deleted.length,
  };
}

/** The `delete element` (by key) and `add element` commands of one set's patch. */
function elementCommands(where: Cmd, added: readonly unknown[], deleted: readonly unknown[]): { del?: Cmd; add?: Cmd } {
  return {
    ...(deleted.length > 0 ? { del: { delete: { element: { ...where, elem: deleted.map(elementKey) } } } } : {}),
    ...(added.length > 0 ? { add: { add: { element: { ...where, elem: added } } } } : {}),
  };
}

/** The patch of a table both revisions declare, or why it must be replaced. */
function patchTable(a: IndexedTable, b: IndexedTable, hint: ElementHint | undefined): TablePatch {
  const t = b.ref;
  const out: TablePatch = { cost: 0, chains: [], refilled: [], added: 0, deleted: 0 };
  const fail = (reason: string): TablePatch => ({ ...out, cost: Infinity, phases: undefined, reason });
  if (a.definition !== b.definition) return fail(`table ${tableLabel(t)} changed`);
  const p = { first: [] as Cmd[], flush: [] as Cmd[], drop: [] as Cmd[], add: [] as Cmd[], elements: [] as Cmd[], rules: [] as Cmd[] };

  for (const [name, o] of a.objects) {
    const n = b.objects.get(name);
    if (n === undefined) p.drop.push({ delete: { [o.kind]: place(t, String(o.body.name)) } });
    else if (n.definition !== o.definition) return fail(`${name} in ${tableLabel(t)} changed`);
  }
  for (const [name, o] of b.objects) {
    if (a.objects.has(name)) continue;
    p.add.push({ add: { [o.kind]: o.body } });
    out.cost += LOAD_OBJECT_S;
  }

  const newSets: Cmd[] = [];
  for (const [name, s] of a.sets) {
    const n = b.sets.get(name);
    if (n === undefined) {
      p.drop.push({ delete: { [s.kind]: place(t, name) } });
      continue;
    }
    if (n.definition !== s.definition) return fail(`${s.kind} ${id(t, name)} definition changed`);
    const sp = patchSet(t, name, s, n, hint);
    if (sp.cost === Infinity) return fail(sp.reason ?? `${s.kind} ${id(t, name)}`);
    out.cost += sp.cost;
    out.added += sp.added;
    out.deleted += sp.deleted;
    if (sp.del) p.first.push(sp.del);
    if (sp.flush) p.flush.push(sp.flush);
    if (sp.add) p.elements.push(sp.add);
    if (sp.refilled) out.refilled.push(id(t, name));
  }
  for (const [name, s] of b.sets) {
    if (a.sets.has(name)) continue;
    newSets.push({ add: { [s.kind]: s.elem.length > 0 ? { ...s.body, elem: s.elem } : s.body } });
    out.cost += loadSetCost({ interval: isInterval(s.body), elements: s.elem.length });
  }

  for (const [name, c] of a.chains) {
    const n = b.chains.get(name);
    if (n === undefined) {
      p.drop.push({ delete: { chain: place(t, name) } });
      out.chains.push(id(t, name));
      continue;
    }
    if (n.definition !== c.definition) return fail(`chain ${id(t, name)} attributes changed`);
    const rules = b.rules.get(name) ?? [];
    if (sameRules(a.rules.get(name) ?? [], rules)) continue;
    p.flush.push({ flush: { chain: place(t, name) } });
    for (const r of rules) p.rules.push({ add: { rule: r } });
    out.cost += rulesCost(rules.length);
    out.chains.push(id(t, name));
  }
  const newChains: Cmd[] = [];
  for (const [name, c] of b.chains) {
    if (a.chains.has(name)) continue;
    newChains.push({ add: { chain: c.body } });
    for (const r of b.rules.get(name) ?? []) p.rules.push({ add: { rule: r } });
    out.cost += LOAD_OBJECT_S + rulesCost(b.rules.get(name)?.length ?? 0);
    out.chains.push(id(t, name));
  }
  // Rules of chains neither revision declares (a malformed file) would be lost: replace instead.
  for (const chain of b.rules.keys()) if (!b.chains.has(chain)) return fail(`rules of undeclared chain ${id(t, chain)}`);
  p.add = [...newChains, ...p.add, ...newSets];
  return { ...out, phases: p };
}

/**
 * The smallest transaction from `from` (in force, unchanged on the host) to `to`, for a host
 * whose agent owns `owned` (the tables the full replacement may replace or delete: `from`'s
 * declared tables, plus any leftover or adopted ones). Tables in `owned` that `from` does not
 * declare are replaced; tables `from` declares that are not owned make it fall back to the full
 * replacement. Pure; never throws on parsed rulesets. The batch shares values with `to`:
 * serialise it, do not mutate it.
 *
 * `hint` (shared/ruleset/element-hint.ts, proven from the bytes of the two revisions) names the
 * sets and maps whose elements changed and how: the elements are then not compared one by one
 * (the plan is the same, in effect, as without it; the order of elements in a command may
 * differ). A hint that does not fit `from` and `to` (other item counts) is ignored.
 */
export function planMinimalTransaction(from: Ruleset, to: Ruleset, owned: readonly TableRef[], hint?: ElementHint): MinimalTransaction {
  const hinted = hint !== undefined && from.nftables.length === to.nftables.length ? hint : undefined;
  const full = buildApplyTransaction(to, owned);
  const a = indexTables(from);
  const b = indexTables(to);
  const ownedKeys = new Set(owned.map(tableLabel));
  const summary: TransactionSummary = { tablesCreated: [], tablesDeleted: [], tablesReplaced: [], tablesPatched: [], chainsChanged: [], setsRefilled: [], elementsAdded: 0, elementsDeleted: 0 };
  let fullCost = 0;
  for (const t of b.values()) fullCost += tableCost(t);
  const fallback = (reason: string, delta = Infinity): MinimalTransaction => ({ kind: 'full', batch: full, reason, estimate: { delta, full: fullCost }, summary, hinted: hinted !== undefined });

  for (const key of a.keys()) if (!ownedKeys.has(key)) return fallback(`table ${key} of the revision in force is not owned`);

  const whole: RulesetItem[] = [];
  const wholeOwned: TableRef[] = [];
  const phases = { first: [] as Cmd[], flush: [] as Cmd[], drop: [] as Cmd[], add: [] as Cmd[], elements: [] as Cmd[], rules: [] as Cmd[] };
  let cost = 0;
  const reasons: string[] = [];
  for (const [key, t] of b) {
    const old = a.get(key);
    if (old === undefined) {
      // Created (not owned), or owned without being in force as `from` says: as the full replacement.
      whole.push(...t.items);
      if (ownedKeys.has(key)) wholeOwned.push(t.ref);
      (ownedKeys.has(key) ? summary.tablesReplaced : summary.tablesCreated).push(key);
      cost += tableCost(t);
      continue;
    }
    const patch = patchTable(old, t, hinted);
    const replace = tableCost(t);
    if (patch.phases === undefined || patch.cost >= replace) {
      whole.push(...t.items);
      wholeOwned.push(t.ref);
      summary.tablesReplaced.push(key);
      reasons.push(patch.reason ?? `patching ${key} costs more than replacing it`);
      cost += replace;
      continue;
    }
    cost += patch.cost;
    const changed = Object.values(patch.phases).some((l) => l.length > 0);
    if (!changed) continue;
    summary.tablesPatched.push(key);
    summary.chainsChanged.push(...patch.chains);
    summary.setsRefilled.push(...patch.refilled);
    summary.elementsAdded += patch.added;
    summary.elementsDeleted += patch.deleted;
    for (const k of Object.keys(phases) as Array<keyof typeof phases>) phases[k].push(...patch.phases[k]);
  }
  for (const t of owned) {
    if (b.has(tableLabel(t))) continue;
    wholeOwned.push(t);
    summary.tablesDeleted.push(tableLabel(t));
  }

  if (summary.tablesPatched.length === 0 && (summary.tablesReplaced.length > 0 || summary.tablesCreated.length > 0) && summary.tablesReplaced.length + summary.tablesCreated.length === b.size) {
    return fallback(reasons[0] ?? 'every table is new', cost);
  }
  if (cost >= fullCost && cost > 0) return fallback(`the delta is estimated at ${cost.toFixed(3)} s, the full replacement at ${fullCost.toFixed(3)} s`, cost);

  const rest = buildApplyTransaction({ nftables: whole }, wholeOwned).nftables;
  const nftables = [...phases.first, ...phases.flush, ...phases.drop, ...rest, ...phases.add, ...phases.elements, ...phases.rules];
  const what = [
    summary.tablesPatched.length ? `patched ${summary.tablesPatched.join(', ')}` : '',
    summary.elementsAdded + summary.elementsDeleted ? `+${summary.elementsAdded}/-${summary.elementsDeleted} elements` : '',
    summary.chainsChanged.length ? `chains ${summary.chainsChanged.join(', ')}` : '',
    summary.tablesReplaced.length ? `replaced ${summary.tablesReplaced.join(', ')}` : '',
    summary.tablesCreated.length ? `created ${summary.tablesCreated.join(', ')}` : '',
    summary.tablesDeleted.length ? `deleted ${summary.tablesDeleted.join(', ')}` : '',
  ].filter(Boolean);
  return { kind: 'delta', batch: { nftables }, reason: what.length ? what.join('; ') : 'no change', estimate: { delta: cost, full: fullCost }, summary, hinted: hinted !== undefined };
}

/**
 * planMinimalTransaction's batch from `from` to the ruleset that is `from` but for the elements
 * of sets that `changes` names (by item index: shared/ruleset/element-hint.ts elementListChanges,
 * proven from the bytes), made without that ruleset: so an agent can start nft before it has
 * built a new 1,000,000-element array (agent/reconcile/early-apply.ts). Only for the plainest
 * case, where the plan is element deletes then element adds: every table of `from` owned and
 * every owned table in `from`, each changed set a hash set (no interval, no auto-merge, no
 * `element` items) patched in place, no table replaced, the delta estimated below the full
 * replacement. Undefined otherwise, and when nothing changes at all (the plan is then an empty
 * delta). The batch is, to the byte once serialised, the plan's with the hint (the property test
 * in tests/unit/shared/ruleset/minimal-transaction.hint.test.ts holds it to that). Pure.
 */
export function elementDeltaBatch(from: Ruleset, owned: readonly TableRef[], changes: ReadonlyMap<number, ElementListChange>): NftCommandBatch | undefined {
  const a = indexTables(from);
  const ownedKeys = new Set(owned.map(tableLabel));
  if (ownedKeys.size !== a.size || [...a.keys()].some((k) => !ownedKeys.has(k))) return undefined;
  const size = (s: IndexedSet): number => changes.get(s.item)?.count ?? s.elem.length;
  const first: Cmd[] = [];
  const elements: Cmd[] = [];
  let cost = 0;
  let fullCost = 0;
  let seen = 0;
  for (const t of a.values()) {
    const replace = tableCost(t, size);
    fullCost += replace;
    let patchCost = 0;
    for (const [name, s] of t.sets) {
      const change = changes.get(s.item);
      if (change === undefined) continue;
      seen++;
      const declared = itemBody(from.nftables[s.item]!).elem;
      if (s.kind !== 'set' || s.elem !== declared || isInterval(s.body) || s.body['auto-merge'] === true) return undefined;
      const { added, deleted } = diffElementsByHint(s.elem, change.added, change.deleted, change.added.map((_, i) => i), change.signatures);
      if (added.length + deleted.length === 0) continue;
      const { cost: delta, refill } = elementPatch(s, change.count, false, added, deleted);
      if (!(delta <= 2 * refill)) return undefined;
      patchCost += delta;
      const { del, add } = elementCommands(place(t.ref, name), added, deleted);
      if (del) first.push(del);
      if (add) elements.push(add);
    }
    if (patchCost >= replace) return undefined;
    cost += patchCost;
  }
  if (seen !== changes.size || first.length + elements.length === 0 || cost >= fullCost) return undefined;
  return { nftables: [...first, ...elements] };
}
