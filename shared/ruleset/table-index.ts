/**
 * A ruleset indexed table by table, for comparing two revisions object by object (the minimal
 * transaction). Pure, linear in the ruleset's size.
 *
 * Comparison is strict: an object's "definition" is its canonical JSON (keys sorted at every
 * depth) without `handle`, `elem`, and its identity; a chain's content is its rules in order.
 * Strict means a change nft would not even see (a comment) still counts as a change: the
 * planner then does more than needed, never less.
 */
import type { Ruleset, RulesetItem, TableRef } from './ruleset-types.js';
import { NAMED_OBJECT_KINDS, itemBody, itemKind } from './ruleset-items.js';

export interface IndexedSet {
  kind: 'set' | 'map';
  /** Canonical definition: type, map, flags, policy, timeout, size, ... (no elements). */
  definition: string;
  /** The body without handle and elem. */
  body: Record<string, unknown>;
  /** Elements, inline ones first then those of `element` items, as declared. */
  elem: unknown[];
  /** Index in `nftables` of the set's or map's item. */
  item: number;
}

export interface IndexedObject {
  kind: string;
  definition: string;
  body: Record<string, unknown>;
}

export interface IndexedTable {
  ref: TableRef;
  definition: string;
  chains: Map<string, { definition: string; body: Record<string, unknown> }>;
  /** Rule bodies per chain, in order (handle dropped). */
  rules: Map<string, Record<string, unknown>[]>;
  sets: Map<string, IndexedSet>;
  /** Named objects and flowtables, keyed `KIND NAME`. */
  objects: Map<string, IndexedObject>;
  /** Every item of the table, for a full replacement of it. */
  items: RulesetItem[];
}

const NAMED = new Set<string>([...NAMED_OBJECT_KINDS, 'flowtable']);

/** JSON with object keys sorted at every depth: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/**
 * The canonical id of one set element. A string element is its own id (no copy: strings from one
 * JSON.parse keep their hash, which is what makes a 1,000,000-element diff affordable); numbers
 * and objects get a prefix no nft string element starts with (a control character).
 */
export function elementId(e: unknown): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'number') return `\u0001${e}`;
  return `\u0002${canonicalJson(e)}`;
}

/** The ids of `elem`: the array itself when every element is a string (the common, big case). */
function idsOf(elem: readonly unknown[]): readonly string[] {
  for (const e of elem) if (typeof e !== 'string') return elem.map(elementId);
  return elem as readonly string[];
}

/** How far ahead the side-by-side walk looks for an element inserted or deleted in place. */
const RESYNC_WINDOW = 4;

/**
 * A cheap 20-bit signature of a string: its length and last twelve characters, hashed (FNV-1a,
 * then mixed): no hashing of a long string whole. Twelve, and a real hash rather than a sum:
 * a 1,000,000-address set (`10.x.y.z`) took only 80,000 distinct values from the length and the
 * last six characters summed, so a pass for 1,300 changed elements let 27,000 through to the map
 * lookup; hashed, they spread over 640,000 values (as random ones would) and about 2,600 pass.
 */
export function signature(s: string): number {
  const n = s.length;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  for (let i = n > 12 ? n - 12 : 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 0xfffff;
}

/** Drop from `candidates` every id that `ids` holds; strings whose signature no candidate has are skipped unhashed. */
function dropPresent(candidates: Map<string, number>, ids: readonly string[]): void {
  if (candidates.size === 0) return;
  const sig = new Uint8Array(1 << 20);
  for (const id of candidates.keys()) sig[signature(id)] = 1;
  for (const id of ids) {
    if (sig[signature(id)] === 1 && candidates.delete(id) && candidates.size === 0) return;
  }
}

/**
 * The elements of `b` that `a` lacks (`added`) and those of `a` that `b` lacks (`deleted`), by
 * canonical id; duplicates count once. Linear, and cheap when the two lists mostly keep their
 * order (two revisions of one file): they are walked side by side comparing strings; at a
 * difference the walk looks a few places ahead in each list for an element inserted or deleted
 * in place, and otherwise puts both elements in small maps where their match in the other list
 * finds them later. What is left in the maps is a superset of the answer (a duplicate can take a
 * match), so a last pass over each list drops candidates it holds (strings pre-filtered by a
 * signature, so most are never hashed). Two lists in unrelated orders make the maps as big as
 * the lists: still linear, just slower.
 */
export function diffElements(a: readonly unknown[], b: readonly unknown[]): { added: unknown[]; deleted: unknown[] } {
  const ia = idsOf(a);
  const ib = idsOf(b);
  const onlyA = new Map<string, number>();
  const onlyB = new Map<string, number>();
  const fromA = (k: number): void => {
    if (!onlyB.delete(ia[k]!)) onlyA.set(ia[k]!, k);
  };
  const fromB = (k: number): void => {
    if (!onlyA.delete(ib[k]!)) onlyB.set(ib[k]!, k);
  };
  let i = 0;
  let j = 0;
  walk: while (i < ia.length && j < ib.length) {
    if (ia[i] === ib[j]) {
      i++;
      j++;
      continue;
    }
    for (let d = 1; d <= RESYNC_WINDOW; d++) {
      if (i + d < ia.length && ia[i + d] === ib[j]) {
        for (let k = i; k < i + d; k++) fromA(k);
        i += d;
        continue walk;
      }
      if (j + d < ib.length && ia[i] === ib[j + d]) {
        for (let k = j; k < j + d; k++) fromB(k);
        j += d;
        continue walk;
      }
    }
    fromA(i++);
    fromB(j++);
  }
  for (; i < ia.length; i++) fromA(i);
  for (; j < ib.length; j++) fromB(j);
  dropPresent(onlyA, ib);
  dropPresent(onlyB, ia);
  return { added: [...onlyB.values()].map((k) => b[k]), deleted: [...onlyA.values()].map((k) => a[k]) };
}

/**
 * diffElements(a, b) for `b` known to be `a` with the elements at `deleted` (indexes in `a`)
 * removed and those at `added` (indexes in `b`) inserted (shared/ruleset/element-hint.ts proves
 * it from the bytes), without walking the two lists side by side: an element removed and
 * inserted again cancels out, and one pass over `a` (strings pre-filtered by a signature) counts
 * the copies `a` holds of the rest, so that a duplicate elsewhere is treated as diffElements
 * treats it (an element removed is gone only if every copy of it was; one inserted is new only if
 * `a` held none). Same sets of ids as diffElements; the order may differ. `signatures`: the
 * signature of each element's id (`signature(elementId(a[k]))`), when the caller keeps them
 * (shared/ruleset/element-layout.ts): the pass then reads numbers, not strings.
 */
export function diffElementsByHint(a: readonly unknown[], b: readonly unknown[], deleted: readonly number[], added: readonly number[], signatures?: Uint32Array): { added: unknown[]; deleted: unknown[] } {
  const gone = new Map<string, { at: number; n: number }>();
  for (const k of deleted) {
    const id = elementId(a[k]);
    const g = gone.get(id);
    if (g) g.n++;
    else gone.set(id, { at: k, n: 1 });
  }
  const put = new Map<string, number>();
  for (const j of added) {
    const id = elementId(b[j]);
    if (!put.has(id)) put.set(id, j);
  }
  const candidates = new Map<string, number>();
  for (const id of gone.keys()) if (!put.delete(id)) candidates.set(id, 0);
  for (const [id] of gone) if (!candidates.has(id)) gone.delete(id);
  for (const id of put.keys()) candidates.set(id, 0);
  if (candidates.size > 0) {
    // The candidates' signatures as bits (128 KB, so the pass over a million signatures stays in the cache).
    const bits = new Uint32Array(1 << 15);
    for (const id of candidates.keys()) {
      const s = signature(id);
      bits[s >>> 5]! |= 1 << (s & 31);
    }
    const count = (e: unknown): void => {
      const id = typeof e === 'string' ? e : elementId(e);
      const c = candidates.get(id);
      if (c !== undefined) candidates.set(id, c + 1);
    };
    if (signatures !== undefined && signatures.length === a.length) {
      // The signatures of `a`'s elements, kept from revision to revision: a pass over numbers only.
      for (const k of signatureHits(signatures, bits)) count(a[k]);
    } else {
      for (const e of a) {
        const id = typeof e === 'string' ? e : elementId(e);
        const s = signature(id);
        if ((bits[s >>> 5]! & (1 << (s & 31))) !== 0) count(e);
      }
    }
  }
  const outDeleted: unknown[] = [];
  for (const [id, g] of gone) if (candidates.get(id) === g.n) outDeleted.push(a[g.at]);
  const outAdded: unknown[] = [];
  for (const [id, j] of put) if (candidates.get(id) === 0) outAdded.push(b[j]);
  return { added: outAdded, deleted: outDeleted };
}

/**
 * The indexes of `signatures` whose bit is set in `bits`. A function of its own, so that its one
 * loop over a million numbers is optimised once and stays so (the planner runs it once per
 * revision; inside a bigger function its optimisation was thrown away each time).
 */
function signatureHits(signatures: Uint32Array, bits: Uint32Array): number[] {
  const hits: number[] = [];
  for (let k = 0; k < signatures.length; k++) {
    const s = signatures[k]!;
    if ((bits[s >>> 5]! & (1 << (s & 31))) !== 0) hits.push(k);
  }
  return hits;
}

function strip(body: Record<string, unknown>, drop: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(body)) if (!drop.includes(k)) out[k] = body[k];
  return out;
}

const tableKey = (family: unknown, name: unknown): string => `${String(family)} ${String(name)}`;

/** The tables of `ruleset`, by `family name`, in declaration order. Never throws on a parsed ruleset. */
export function indexTables(ruleset: Ruleset): Map<string, IndexedTable> {
  const tables = new Map<string, IndexedTable>();
  const get = (family: unknown, name: unknown): IndexedTable => {
    const key = tableKey(family, name);
    let t = tables.get(key);
    if (!t) {
      t = { ref: { family: family as TableRef['family'], name: String(name) }, definition: '{}', chains: new Map(), rules: new Map(), sets: new Map(), objects: new Map(), items: [] };
      tables.set(key, t);
    }
    return t;
  };
  const extra: Array<{ t: IndexedTable; name: string; elem: unknown[] }> = [];
  ruleset.nftables.forEach((item, index) => {
    const kind = itemKind(item);
    if (kind === 'metainfo') return;
    const body = itemBody(item);
    const t = kind === 'table' ? get(body.family, body.name) : get(body.family, body.table);
    t.items.push(item);
    const name = String(body.name);
    if (kind === 'table') {
      t.definition = canonicalJson(strip(body, ['handle', 'family', 'name']));
    } else if (kind === 'chain') {
      const clean = strip(body, ['handle']);
      t.chains.set(name, { definition: canonicalJson(strip(clean, ['family', 'table', 'name'])), body: clean });
      if (!t.rules.has(name)) t.rules.set(name, []);
    } else if (kind === 'rule') {
      const chain = String(body.chain);
      const list = t.rules.get(chain) ?? [];
      list.push(strip(body, ['handle']));
      t.rules.set(chain, list);
    } else if (kind === 'set' || kind === 'map') {
      const clean = strip(body, ['handle', 'elem']);
      // The declared array itself (no copy of a 1,000,000-element list); `element` items are appended to a copy below.
      const elem = Array.isArray(body.elem) ? (body.elem as unknown[]) : [];
      t.sets.set(name, { kind, definition: canonicalJson({ kind, ...strip(clean, ['family', 'table', 'name']) }), body: clean, elem, item: index });
    } else if (kind === 'element') {
      extra.push({ t, name, elem: Array.isArray(body.elem) ? (body.elem as unknown[]) : [] });
    } else if (NAMED.has(kind)) {
      const clean = strip(body, ['handle']);
      t.objects.set(`${kind} ${name}`, { kind, definition: canonicalJson(strip(clean, ['family', 'table', 'name'])), body: clean });
    }
  });
  for (const x of extra) {
    const s = x.t.sets.get(x.name);
    if (s) s.elem = [...s.elem, ...x.elem];
  }
  return tables;
}

/** True when the set or map holds ranges (the `interval` flag). */
export function isInterval(body: Record<string, unknown>): boolean {
  const f = body.flags;
  return Array.isArray(f) ? f.includes('interval') : f === 'interval';
}

/** True when the set's key is a concatenation of several fields. */
export function isConcatenated(body: Record<string, unknown>): boolean {
  return Array.isArray(body.type) && body.type.length > 1;
}

/** The key of a declared element, as `delete element` takes it (map data and timeouts left out). */
export function elementKey(e: unknown): unknown {
  const k = Array.isArray(e) ? e[0] : e;
  if (k !== null && typeof k === 'object' && !Array.isArray(k) && 'elem' in k) {
    const inner = (k as { elem: unknown }).elem;
    if (inner !== null && typeof inner === 'object' && 'val' in inner) return (inner as { val: unknown }).val;
  }
  return k;
}
