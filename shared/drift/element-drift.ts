/**
 * Element drift of big sets, kept from events rather than listings, and the delta that undoes
 * it. Pure.
 *
 * Starting from a host that matches the revision (the agent's own load), the kernel announces an
 * element only when it really enters or leaves a set: an `add` of an element already present,
 * or a `delete` of one absent, changes nothing and announces nothing. So outside changes fold
 * into two lists per set, exactly: elements added that the revision does not hold, elements
 * deleted that it does. An add of an element listed as deleted cancels out (and the reverse);
 * when both lists are empty the set matches the revision again.
 */
import { declaredElementId, type ElementKey, type SetShape } from '../ruleset/element-key.js';

export interface SetRef {
  family: string;
  table: string;
  name: string;
}

export interface SetDrift {
  ref: SetRef;
  /** Elements present that the revision does not declare (by canonical id). */
  added: Map<string, unknown>;
  /** Elements the revision declares that are gone (by canonical id). */
  removed: Map<string, unknown>;
}

const setKey = (r: SetRef): string => `${r.family} ${r.table} ${r.name}`;

/** Outstanding element changes, per set, since the host last matched the revision. */
export class ElementDrift {
  readonly #sets = new Map<string, SetDrift>();

  /** Fold in an outside change: `op` of `keys` in set `ref`. */
  note(ref: SetRef, op: 'add' | 'del', keys: readonly ElementKey[]): void {
    const k = setKey(ref);
    let d = this.#sets.get(k);
    if (!d) this.#sets.set(k, (d = { ref, added: new Map(), removed: new Map() }));
    for (const { id, value } of keys) {
      if (op === 'add') {
        if (!d.removed.delete(id)) d.added.set(id, value);
      } else if (!d.added.delete(id)) {
        d.removed.set(id, value);
      }
    }
    if (d.added.size === 0 && d.removed.size === 0) this.#sets.delete(k);
  }

  /** How many element changes are outstanding. */
  get size(): number {
    let n = 0;
    for (const d of this.#sets.values()) n += d.added.size + d.removed.size;
    return n;
  }

  /** True when no element drift is outstanding. */
  get empty(): boolean {
    return this.#sets.size === 0;
  }

  /** The outstanding drift, set by set. */
  entries(): SetDrift[] {
    return [...this.#sets.values()];
  }

  /**
   * The outstanding drift, set by set, handed over: the drift starts empty again, so changes
   * noted from now on (while the caller undoes these) are kept apart from them.
   */
  take(): SetDrift[] {
    const taken = [...this.#sets.values()];
    this.#sets.clear();
    return taken;
  }

  /** Forget everything (the host was made to match the revision again). */
  clear(): void {
    this.#sets.clear();
  }

  /**
   * The drift in words, at most `limit` lines, e.g. `element 192.0.2.7 added to set inet t blk`
   * (the last line says how many more there are).
   */
  describe(limit = 20): string[] {
    const lines: string[] = [];
    let total = 0;
    for (const d of this.#sets.values()) {
      const where = `set ${setKey(d.ref)}`;
      for (const [verb, m] of [['added to', d.added], ['deleted from', d.removed]] as const) {
        for (const v of m.values()) {
          total++;
          if (lines.length < limit) lines.push(`element ${JSON.stringify(v)} ${verb} ${where}`);
        }
      }
    }
    if (total > lines.length) lines[lines.length - 1] = `(${total - lines.length + 1} more element changes)`;
    return lines;
  }
}

/**
 * The declared form of the elements `ids` among `declared` (a set's `elem` array), so that an
 * element put back keeps its timeout or comment. Strings are matched against `wanted` (the
 * canonical rendering of each id: fast, 1,000,000 elements in about 0.1 s); objects are read.
 * Ids not found are missing from the map (the caller then writes the rendered value).
 */
export function findDeclared(shape: SetShape, declared: readonly unknown[], wanted: ReadonlyMap<string, unknown>): Map<string, unknown> {
  const byText = new Map<string, string>();
  for (const [id, v] of wanted) if (typeof v === 'string' || typeof v === 'number') byText.set(String(v), id);
  const found = new Map<string, unknown>();
  for (const e of declared) {
    if (found.size === wanted.size) break;
    let id: string | undefined;
    if (typeof e === 'string' || typeof e === 'number') id = byText.get(String(e));
    else id = declaredElementId(shape, e);
    if (id !== undefined && wanted.has(id)) found.set(id, e);
  }
  return found;
}

/**
 * One nft transaction (libnftables JSON) that undoes `drift`: delete the added elements, add
 * back the removed ones (in their declared form where `declaredOf` finds it). Empty when there
 * is nothing to undo.
 */
export function elementHealBatch(drift: readonly SetDrift[], declaredOf: (d: SetDrift) => Map<string, unknown>): { nftables: object[] } {
  const nftables: object[] = [];
  for (const d of drift) {
    const { family, table, name } = d.ref;
    if (d.added.size > 0) nftables.push({ delete: { element: { family, table, name, elem: [...d.added.values()] } } });
    if (d.removed.size > 0) {
      const declared = declaredOf(d);
      nftables.push({ add: { element: { family, table, name, elem: [...d.removed].map(([id, v]) => declared.get(id) ?? v) } } });
    }
  }
  return { nftables };
}
