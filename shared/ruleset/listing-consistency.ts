/**
 * Whether an `nft -j list` output can be trusted element by element.
 *
 * The kernel lists a set in rounds: each netlink round walks the set from its start and skips
 * the elements the previous rounds sent. A hash set grows in a kernel worker after a big load
 * (rhashtable resize), and a walk that meets a resize restarts in the new table with its count
 * running on. A listing taken while that worker runs (measured here: the first listing after
 * loading 1,000,000 elements, every time; 100,000 under load) holds as many elements as the set
 * but repeats some and leaves out as many others. Nothing in nft's output says so.
 *
 * A set never holds the same key twice, and such a walk always sends at least as many elements
 * as the set holds, so a listing is complete exactly when no set in it repeats a key: a
 * repeated key is the sign to list again, never a difference to report.
 */
import type { Ruleset } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

/**
 * The key of a set element as canonical text: the element for a set (its `val` when it carries
 * a timeout or comment), the key of a `[key, data]` map pair. Pure; never throws.
 */
export function elementKey(e: unknown): string {
  if (typeof e === 'string') return e;
  let key = e;
  if (Array.isArray(key)) key = key[0];
  if (key !== null && typeof key === 'object' && !Array.isArray(key) && 'elem' in key) {
    const inner = (key as { elem: unknown }).elem;
    key = inner !== null && typeof inner === 'object' && 'val' in inner ? (inner as { val: unknown }).val : inner;
  }
  return typeof key === 'string' ? key : JSON.stringify(key);
}

/**
 * The sets and maps of `listing` (an `nft -j list` output) that list some key more than once,
 * as `family table name`, in listing order: their elements were read while the kernel was
 * rearranging them and must be listed again. Empty when the listing is consistent. Pure;
 * linear in the number of elements; never throws.
 */
export function inconsistentSets(listing: Ruleset): string[] {
  const out: string[] = [];
  for (const item of listing.nftables) {
    const kind = itemKind(item);
    if (kind !== 'set' && kind !== 'map') continue;
    const body = itemBody(item);
    if (!Array.isArray(body.elem) || body.elem.length < 2) continue;
    const seen = new Set<string>();
    for (const e of body.elem) {
      const k = elementKey(e);
      if (seen.has(k)) {
        out.push(`${String(body.family)} ${String(body.table)} ${String(body.name)}`);
        break;
      }
      seen.add(k);
    }
  }
  return out;
}
