/**
 * A read-only map from element id (element-value.ts: `0a000001`, `0a000001.0050`, `s:eth0`) to
 * its index in a set, held in one string and two typed arrays: an open-addressing hash table.
 * A Map of 1,000,000 ids costs about 80 MB and cannot leave the thread that built it; this costs
 * about 17 MB and moves between threads at the cost of a copy of its arrays, so a big set can be
 * indexed in a worker (server/git/compose-thread.ts) while the server's event loop goes on. Pure.
 */

export interface ElementIdIndexState {
  /** The ids in index order, joined. */
  text: string;
  /** Where id k starts in `text`; entry `count` is text's length. */
  offsets: Int32Array;
  /** Hash slots: index + 1, or 0 for an empty slot. */
  slots: Int32Array;
}

/** FNV-1a over the UTF-16 code units of `s` (ids are short). */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class ElementIdIndex {
  private constructor(private readonly s: ElementIdIndexState) {}

  /**
   * The index of `ids` (id k at index k), or undefined when two are the same. O(ids); never throws.
   */
  static build(ids: readonly string[]): ElementIdIndex | undefined {
    const offsets = new Int32Array(ids.length + 1);
    let at = 0;
    ids.forEach((id, k) => {
      offsets[k] = at;
      at += id.length;
    });
    offsets[ids.length] = at;
    // A power of two at least twice the count: probes stay short.
    let size = 16;
    while (size < ids.length * 2) size *= 2;
    const index = new ElementIdIndex({ text: ids.join(''), offsets, slots: new Int32Array(size) });
    for (let k = 0; k < ids.length; k++) if (!index.insert(ids[k]!, k)) return undefined;
    return index;
  }

  /** An index from the state another thread built (ElementIdIndex.state). */
  static from(state: ElementIdIndexState): ElementIdIndex {
    return new ElementIdIndex(state);
  }

  /** What moves to another thread: the arrays can be transferred, the string is copied. */
  get state(): ElementIdIndexState {
    return this.s;
  }

  get size(): number {
    return this.s.offsets.length - 1;
  }

  /** The id at index `k`. */
  idAt(k: number): string {
    return this.s.text.slice(this.s.offsets[k], this.s.offsets[k + 1]);
  }

  /** The index of `id`, or undefined. */
  get(id: string): number | undefined {
    const { slots, text, offsets } = this.s;
    const mask = slots.length - 1;
    for (let p = hash(id) & mask; ; p = (p + 1) & mask) {
      const v = slots[p]!;
      if (v === 0) return undefined;
      const k = v - 1;
      const from = offsets[k]!;
      if (offsets[k + 1]! - from === id.length && text.startsWith(id, from)) return k;
    }
  }

  /** Put index `k` (whose id is `id`) in the table; false when `id` is there already. */
  private insert(id: string, k: number): boolean {
    const { slots } = this.s;
    const mask = slots.length - 1;
    for (let p = hash(id) & mask; ; p = (p + 1) & mask) {
      const v = slots[p]!;
      if (v === 0) {
        slots[p] = k + 1;
        return true;
      }
      if (this.idAt(v - 1) === id) return false;
    }
  }
}
