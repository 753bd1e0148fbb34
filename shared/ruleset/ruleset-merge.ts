/**
 * Object-level three-way merge of rulesets, for publishing a live change onto a branch that
 * moved meanwhile: `base` is the revision the publisher had applied, `ours` its live state,
 * `theirs` the branch's tip.
 *
 * Objects are compared in their normalised form (shared/ruleset/ruleset-normalise.ts), so a listing and
 * the file it was loaded from agree:
 * - tables, chains, sets, maps, named objects and flowtables are keyed by identity
 *   (`chain inet filter input`); one side's change is taken when the other left the object as
 *   in `base`; both changing it the same way is no conflict; both changing it differently is;
 * - the rules of a chain merge like lines in a diff3: insertions and deletions at different
 *   places of the chain combine; two insertions at the same place, or an insertion next to a
 *   rule the other side deleted, conflict (rule order is meaning, so it is not guessed);
 * - set and map elements merge element by element: what `ours` added or removed is applied to
 *   `theirs`.
 * Pure; never throws on parsed rulesets.
 */
import { listingToRuleset } from './listing-to-ruleset.js';
import { canonicalJson, normaliseRuleset, type NormalisedRuleset } from './ruleset-normalise.js';
import type { Ruleset, RulesetItem } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

export type MergeResult = { kind: 'merged'; ruleset: Ruleset } | { kind: 'conflict'; conflicts: string[] };

/** Raw items of one side, by the keys the normalised form uses. */
interface SideIndex {
  n: NormalisedRuleset;
  objects: Map<string, Record<string, unknown>>;
  kinds: Map<string, string>;
  rules: Map<string, Map<string, Record<string, unknown>>>;
  elements: Map<string, Map<string, unknown>>;
}

function index(ruleset: Ruleset): SideIndex {
  const ix: SideIndex = { n: normaliseRuleset(ruleset), objects: new Map(), kinds: new Map(), rules: new Map(), elements: new Map() };
  const addElements = (key: string, elem: unknown): void => {
    if (!Array.isArray(elem)) return;
    const m = ix.elements.get(key) ?? new Map<string, unknown>();
    for (const e of elem) m.set(canonicalJson(e), e);
    ix.elements.set(key, m);
  };
  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    if (kind === 'metainfo') continue;
    const body = itemBody(item);
    const where = `${String(body.family)} ${String(kind === 'table' ? body.name : body.table)}`;
    if (kind === 'rule') {
      const { family: _f, table: _t, chain, handle: _h, ...rest } = body;
      const chainKey = `${where} ${String(chain)}`;
      const m = ix.rules.get(chainKey) ?? new Map();
      m.set(canonicalJson(rest), body);
      ix.rules.set(chainKey, m);
      continue;
    }
    if (kind === 'element') {
      addElements(`${where} ${String(body.name)}`, body.elem);
      continue;
    }
    const key = kind === 'table' ? `table ${where}` : `${kind} ${where} ${String(body.name)}`;
    const { elem, handle: _h, ...rest } = body;
    ix.objects.set(key, rest);
    ix.kinds.set(key, kind);
    if (kind === 'set' || kind === 'map') addElements(`${where} ${String(body.name)}`, elem);
  }
  return ix;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Merge `ours` into `theirs` over `base`. Returns the merged ruleset (items in load order, as
 * listingToRuleset puts them), or every conflicting object named
 * (`chain inet filter input: changed on both sides`).
 */
export function mergeRulesets(base: Ruleset, ours: Ruleset, theirs: Ruleset): MergeResult {
  const b = index(base);
  const o = index(ours);
  const t = index(theirs);
  const conflicts: string[] = [];
  const items: RulesetItem[] = [];

  const objectKeys = new Set([...t.objects.keys(), ...o.objects.keys(), ...b.objects.keys()]);
  const setItems = new Map<string, Record<string, unknown>>();
  for (const key of objectKeys) {
    const pick = choose(key, b.n.objects[key], o.n.objects[key], t.n.objects[key]);
    if (pick === 'conflict') {
      conflicts.push(`${key}: changed on both sides`);
      continue;
    }
    const side = pick === 'ours' ? o : t;
    const body = side.objects.get(key);
    if (body === undefined) continue; // deleted
    const kind = side.kinds.get(key)!;
    const copy = { ...body };
    if (kind === 'set' || kind === 'map') setItems.set(key.slice(kind.length + 1), copy);
    items.push({ [kind]: copy } as unknown as RulesetItem);
  }

  for (const [setKey, body] of setItems) {
    const merged = mergeElements(b.n.elements[setKey] ?? [], o.n.elements[setKey] ?? [], t.n.elements[setKey] ?? []);
    const raw = merged.map((c) => t.elements.get(setKey)?.get(c) ?? o.elements.get(setKey)?.get(c) ?? b.elements.get(setKey)?.get(c) ?? JSON.parse(c));
    if (raw.length > 0) body.elem = raw;
  }

  const chains = new Set([...Object.keys(t.n.rules), ...Object.keys(o.n.rules), ...Object.keys(b.n.rules)]);
  for (const chain of chains) {
    const [bl, ol, tl] = [b.n.rules[chain] ?? [], o.n.rules[chain] ?? [], t.n.rules[chain] ?? []];
    if (!same(ol, bl) && !same(tl, bl) && !same(ol, tl) && (!editsFit(bl, ol) || !editsFit(bl, tl))) {
      conflicts.push(`chain ${chain}: too many rules changed to merge (${bl.length} in the base, ${ol.length} published, ${tl.length} on the branch): publish again onto the branch's tip`);
      continue;
    }
    const merged = mergeLists(b.n.rules[chain] ?? [], o.n.rules[chain] ?? [], t.n.rules[chain] ?? []);
    if (merged === undefined) {
      conflicts.push(`chain ${chain}: rules changed on both sides at the same place`);
      continue;
    }
    for (const c of merged) {
      const body = t.rules.get(chain)?.get(c) ?? o.rules.get(chain)?.get(c) ?? b.rules.get(chain)?.get(c);
      if (body !== undefined) items.push({ rule: body } as unknown as RulesetItem);
    }
  }
  if (conflicts.length > 0) return { kind: 'conflict', conflicts };
  return { kind: 'merged', ruleset: listingToRuleset({ nftables: items }) };
}

/** Which side's version of one object to take, by its normalised attributes. */
function choose(_key: string, base: unknown, ours: unknown, theirs: unknown): 'ours' | 'theirs' | 'conflict' {
  if (same(ours, base)) return 'theirs';
  if (same(theirs, base)) return 'ours';
  if (same(ours, theirs)) return 'theirs';
  return 'conflict';
}

/** `theirs`, minus what `ours` removed from `base`, plus what it added (sorted, distinct). Pure. */
export function mergeElements(base: readonly string[], ours: readonly string[], theirs: readonly string[]): string[] {
  const b = new Set(base);
  const o = new Set(ours);
  const out = new Set(theirs);
  for (const x of b) if (!o.has(x)) out.delete(x);
  for (const x of o) if (!b.has(x)) out.add(x);
  return [...out].sort();
}

/**
 * Cells of the longest-common-subsequence table past which a chain's rules are not merged: the
 * table grows with the product of the changed spans (16 MiB of Uint32 here, tens of ms). A
 * publisher that rewrote more than that of a chain the branch also changed gets a conflict and
 * republishes onto the new tip, rather than a merge that blocks the server for seconds and takes
 * gigabytes (16,000 rules rewritten: 7.6 s, 1.1 GB).
 */
export const LIST_MERGE_MAX_CELLS = 4_000_000;

/** The lengths of the common prefix and suffix of `base` and `side` (not overlapping). */
function commonEnds(base: readonly string[], side: readonly string[]): { pre: number; post: number } {
  const n = base.length;
  const m = side.length;
  let pre = 0;
  while (pre < n && pre < m && base[pre] === side[pre]) pre++;
  let post = 0;
  while (post < n - pre && post < m - pre && base[n - 1 - post] === side[m - 1 - post]) post++;
  return { pre, post };
}

/** Whether the changed span of `side` against `base` fits LIST_MERGE_MAX_CELLS. Pure. */
function editsFit(base: readonly string[], side: readonly string[]): boolean {
  const { pre, post } = commonEnds(base, side);
  return (base.length - pre - post) * (side.length - pre - post) <= LIST_MERGE_MAX_CELLS;
}

/**
 * For each index of `base`: is it kept in `side`; and what `side` inserts after it (-1: before
 * the first). The common ends are kept without comparing them pairwise; undefined when the span
 * between them passes LIST_MERGE_MAX_CELLS.
 */
function edits(base: readonly string[], side: readonly string[]): { kept: boolean[]; inserted: Map<number, string[]> } | undefined {
  const { pre, post } = commonEnds(base, side);
  const n = base.length - pre - post;
  const m = side.length - pre - post;
  if (n * m > LIST_MERGE_MAX_CELLS) return undefined;
  const b = (i: number): string => base[pre + i]!;
  const s = (j: number): string => side[pre + j]!;
  // Longest common subsequence of the changed spans, by dynamic programming.
  const L: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = b(i) === s(j) ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const kept = new Array<boolean>(base.length).fill(false);
  for (let k = 0; k < pre; k++) kept[k] = true;
  for (let k = base.length - post; k < base.length; k++) kept[k] = true;
  const inserted = new Map<number, string[]>();
  let i = 0;
  let j = 0;
  let last = pre - 1;
  while (i < n || j < m) {
    if (i < n && j < m && b(i) === s(j)) {
      kept[pre + i] = true;
      last = pre + i;
      i++;
      j++;
    } else if (j < m && (i >= n || L[i]![j + 1]! >= L[i + 1]![j]!)) {
      const list = inserted.get(last) ?? [];
      list.push(s(j));
      inserted.set(last, list);
      j++;
    } else {
      last = pre + i; // a deleted line still anchors what follows it
      i++;
    }
  }
  return { kept, inserted };
}

/**
 * Three-way merge of ordered lists (a chain's rules): undefined when both sides changed the same
 * place (inserted after the same line, or one inserted next to a line the other deleted), or when
 * a side's changed span passes LIST_MERGE_MAX_CELLS. Pure.
 */
export function mergeLists(base: readonly string[], ours: readonly string[], theirs: readonly string[]): string[] | undefined {
  if (same(ours, base)) return [...theirs];
  if (same(theirs, base) || same(ours, theirs)) return [...ours];
  const eo = edits(base, ours);
  const et = edits(base, theirs);
  if (eo === undefined || et === undefined) return undefined;
  const out: string[] = [];
  for (let i = -1; i < base.length; i++) {
    if (i >= 0) {
      if (eo.kept[i] && et.kept[i]) out.push(base[i]!);
      // One side deleted a rule the other inserted next to: where the insertion goes is a guess.
      if (!eo.kept[i] && et.kept[i] && (et.inserted.has(i) || et.inserted.has(i - 1))) return undefined;
      if (!et.kept[i] && eo.kept[i] && (eo.inserted.has(i) || eo.inserted.has(i - 1))) return undefined;
    }
    const a = eo.inserted.get(i);
    const c = et.inserted.get(i);
    if (a && c && !same(a, c)) return undefined;
    out.push(...(a ?? c ?? []));
  }
  return out;
}
