/**
 * Canonical, comparable form of a ruleset, and an object-level diff of two of them.
 *
 * Used for read-back verification (what nft lists after an apply against what was declared),
 * drift detection and human-readable diffs. Two rulesets that nft would load to the same state
 * should normalise to the same value, whatever their handles, item order or element order:
 * - handles and metainfo are dropped; objects are keyed (`chain inet filter input`) and sorted;
 *   object keys are sorted at every depth; rules keep their order within their chain; set
 *   elements are sorted (their order carries no meaning);
 * - values the kernel changes by itself are dropped: counter packets/bytes, quota `used`,
 *   element `expires` (an element left with only its value is that value: canonicalElement); an anonymous `counter` statement becomes `{"counter": null}`;
 * - what nft 1.0.6 loses silently on every reload is dropped, or a correct apply would never
 *   read back equal: table, chain and set comments, the `dynamic` set flag, `auto-merge`, the
 *   `dormant` table flag (see NFT-FACTS.md). Rule comments survive and are compared.
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import type { Ruleset, TableRef } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

export interface NormalisedRuleset {
  /** Every table, chain, set, map, named object and flowtable, by key, attributes canonical. */
  objects: Record<string, Record<string, unknown>>;
  /** Rules per chain key (`inet filter input`), in order, each as canonical JSON. */
  rules: Record<string, string[]>;
  /** Elements per set key (`inet filter blocklist`), sorted, each as canonical JSON. */
  elements: Record<string, string[]>;
}

export interface NormaliseOptions {
  /** Compare set elements (default true). False for terse (`nft -t`) listings without them. */
  elements?: boolean;
}

const LOSSY_FLAGS = new Set(['dynamic', 'dormant']);
const DIFF_LIMIT = SHARED_DEFAULTS.diffLimit;

/** Deep copy with sorted object keys and the kernel's own counters removed. */
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) {
    if (k === 'expires' || k === 'used' || k === 'used_unit') continue;
    const val = o[k];
    if (k === 'counter' && (val === null || (typeof val === 'object' && !Array.isArray(val)))) {
      out[k] = null; // an anonymous counter: its values are the kernel's, not the file's
      continue;
    }
    out[k] = canon(val);
  }
  return out;
}

function str(v: unknown): string {
  return JSON.stringify(canon(v));
}

/**
 * The canonical JSON of a value as the normalised form holds it (sorted keys, kernel counters
 * dropped): a rule's body without family/table/chain/handle, or one set element. Pure.
 */
export function canonicalJson(v: unknown): string {
  return str(v);
}

/**
 * The canonical JSON of one set or map element as the normalised form holds it: as
 * canonicalJson, and an `{"elem": {"val": X}}` left with nothing but its value once the kernel's
 * `expires` is dropped (how nft lists an element of a set with a default `timeout`) is X itself,
 * as the file writes it; with `setTimeout` (its set's default), an element's own `timeout` equal to
 * it is dropped first, as nft lists it. A map element `[key, data]` is treated so on its key. Pure.
 */
export function canonicalElement(e: unknown, setTimeout?: unknown): string {
  return str(bareElement(canon(e), setTimeout));
}

/**
 * `e` (canonical) without what nft does not list: an element's own `timeout` equal to its set's
 * default `setTimeout` (nft 1.0.6 lists such an element without one), then `{"elem": {"val": X}}`
 * left with nothing else is X.
 */
function bareElement(e: unknown, setTimeout?: unknown): unknown {
  if (Array.isArray(e) && e.length === 2) return [bareElement(e[0], setTimeout), e[1]];
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return e;
  let inner = (e as Record<string, unknown>).elem;
  if (Object.keys(e).length !== 1 || inner === null || typeof inner !== 'object' || Array.isArray(inner)) return e;
  if (setTimeout !== undefined && (inner as Record<string, unknown>).timeout === setTimeout) {
    const { timeout: _t, ...rest } = inner as Record<string, unknown>;
    inner = rest;
    e = { elem: rest };
  }
  const keys = Object.keys(inner as Record<string, unknown>);
  return keys.length === 1 && keys[0] === 'val' ? (inner as Record<string, unknown>).val : e;
}

/**
 * The default `timeout` of each set and map of `ruleset` that has one, by `family table name`.
 * Pure; never throws on a parsed ruleset.
 */
export function setTimeouts(ruleset: Ruleset): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    const body = itemBody(item);
    if ((kind === 'set' || kind === 'map') && body.timeout !== undefined) out.set(`${String(body.family)} ${String(body.table)} ${String(body.name)}`, body.timeout);
  }
  return out;
}

function inTables(filter: Set<string> | undefined, family: unknown, table: unknown): boolean {
  return filter === undefined || filter.has(`${String(family)} ${String(table)}`);
}

/**
 * The canonical form of `ruleset`, limited to `tables` when given (e.g. the managed tables of a
 * full listing). Accepts a ruleset file or an `nft -j list` output (both list form). Pure;
 * never throws on a parsed ruleset.
 */
export function normaliseRuleset(ruleset: Ruleset, tables?: readonly TableRef[], options: NormaliseOptions = {}): NormalisedRuleset {
  const filter = tables === undefined ? undefined : new Set(tables.map((t) => `${t.family} ${t.name}`));
  const withElements = options.elements ?? true;
  const objects: Record<string, Record<string, unknown>> = {};
  const rules: Record<string, string[]> = {};
  const elements: Record<string, string[]> = {};
  // An element's own timeout equal to its set's default is not listed by nft.
  const timeouts = setTimeouts(ruleset);
  const addElements = (key: string, elem: unknown): void => {
    if (!withElements || !Array.isArray(elem)) return;
    const list = elements[key] ?? (elements[key] = []);
    const timeout = timeouts.get(key);
    for (const e of elem) list.push(canonicalElement(e, timeout));
  };

  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    if (kind === 'metainfo') continue;
    const body = itemBody(item);
    const table = kind === 'table' ? body.name : body.table;
    if (!inTables(filter, body.family, table)) continue;
    const where = `${String(body.family)} ${String(table)}`;
    if (kind === 'rule') {
      const { family: _f, table: _t, chain, handle: _h, ...rest } = body;
      (rules[`${where} ${String(chain)}`] ??= []).push(str(rest));
      continue;
    }
    if (kind === 'element') {
      addElements(`${where} ${String(body.name)}`, body.elem);
      continue;
    }
    const { handle: _h, elem, family: _f, table: _t, name: _n, ...attrs } = body;
    if (kind === 'table' || kind === 'chain' || kind === 'set' || kind === 'map') delete attrs.comment;
    delete attrs['auto-merge'];
    if (kind === 'counter') {
      delete attrs.packets;
      delete attrs.bytes;
    }
    if (Array.isArray(attrs.flags)) {
      const flags = (attrs.flags as unknown[]).filter((f) => !LOSSY_FLAGS.has(String(f)));
      if (flags.length > 0) attrs.flags = flags;
      else delete attrs.flags;
    } else if (typeof attrs.flags === 'string' && LOSSY_FLAGS.has(attrs.flags)) delete attrs.flags;
    const key = kind === 'table' ? `table ${where}` : `${kind} ${where} ${String(body.name)}`;
    objects[key] = canon(attrs) as Record<string, unknown>;
    if (kind === 'chain') rules[`${where} ${String(body.name)}`] ??= [];
    if (kind === 'set' || kind === 'map') addElements(`${where} ${String(body.name)}`, elem);
  }
  for (const list of Object.values(elements)) list.sort();
  return { objects: sortKeys(objects), rules: sortKeys(rules), elements: sortKeys(elements) };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

function short(s: string, max = 160): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/** Items of `a` not in `b`, counting duplicates (a multiset difference). Pure. */
export function missingFrom(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/**
 * Human-readable differences from `a` to `b` (empty when equal), object by object:
 * `chain inet filter input: policy "drop" -> "accept"`, `rule added in inet filter input: …`,
 * `set inet filter blk: 2 elements removed (…)`. A rule that moved within its chain is reported
 * as `rules reordered`. At most about 200 lines; the last one says how many were left out.
 * Pure; never throws.
 */
export function diffNormalised(a: NormalisedRuleset, b: NormalisedRuleset): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a.objects), ...Object.keys(b.objects)])) {
    const x = a.objects[key];
    const y = b.objects[key];
    if (x === undefined) out.push(`${key}: added`);
    else if (y === undefined) out.push(`${key}: removed`);
    else {
      for (const f of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const sx = JSON.stringify(x[f]);
        const sy = JSON.stringify(y[f]);
        if (sx !== sy) out.push(`${key}: ${f} ${short(sx ?? '(none)')} -> ${short(sy ?? '(none)')}`);
      }
    }
  }
  for (const chain of new Set([...Object.keys(a.rules), ...Object.keys(b.rules)])) {
    const x = a.rules[chain] ?? [];
    const y = b.rules[chain] ?? [];
    if (x.length === y.length && x.every((r, i) => r === y[i])) continue;
    const removed = missingFrom(x, y);
    const added = missingFrom(y, x);
    for (const r of removed) out.push(`rule removed in ${chain}: ${short(r)}`);
    for (const r of added) out.push(`rule added in ${chain}: ${short(r)}`);
    if (removed.length === 0 && added.length === 0) out.push(`rules reordered in ${chain}`);
  }
  for (const set of new Set([...Object.keys(a.elements), ...Object.keys(b.elements)])) {
    const x = a.elements[set] ?? [];
    const y = b.elements[set] ?? [];
    if (x.length === y.length && x.every((e, i) => e === y[i])) continue;
    const removed = missingFrom(x, y);
    const added = missingFrom(y, x);
    const sample = (l: string[]): string => short(l.slice(0, 5).join(', '));
    if (removed.length > 0) out.push(`set ${set}: ${removed.length} element(s) removed (${sample(removed)})`);
    if (added.length > 0) out.push(`set ${set}: ${added.length} element(s) added (${sample(added)})`);
  }
  if (out.length > DIFF_LIMIT) return [...out.slice(0, DIFF_LIMIT), `… and ${out.length - DIFF_LIMIT} more differences`];
  return out;
}
