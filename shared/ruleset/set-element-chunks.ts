/**
 * Reading big sets back cheaply and reliably, for the push validator's scratch namespace.
 *
 * nft lists a set in netlink rounds that each walk the set from its start (listing-consistency.ts),
 * so listing n elements costs about n² (measured: 0.8 s for 100,000, 18–36 s for 1,000,000) and a
 * hash set listed while the kernel still resizes it comes back wrong. Each element of a set
 * without intervals is stored and listed on its own, whatever its neighbours, so the validator
 * can read the same elements from copies of the set holding a few thousand each: after the
 * ruleset is loaded as declared (what nft accepts is judged on the real thing), one more
 * transaction empties each big set and adds the copies (`NAME__nftsync_chunk7`, same type, flags
 * and data), and one listing then costs about n · CHUNK. mergeChunks puts the elements back
 * under the set's own name before the comparison.
 *
 * Left as they are (listed directly): interval sets (neighbours merge and must meet the
 * overlap check together), constant sets (nft refuses to flush them), and sets whose name leaves
 * no room for the suffix.
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import type { NftCommandBatch } from './apply-plan.js';
import { elementKey } from './listing-consistency.js';
import type { Ruleset, RulesetItem } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

/** Elements per copy: small enough that a listing's cost stays linear, big enough to be few. */
export const CHUNK_ELEMENTS = SHARED_DEFAULTS.nft.chunkElements;
const SUFFIX = /^(.*)__nftsync_chunk(\d+)$/s;
/** nft's set name limit (NFT_SET_MAXNAMELEN 256, with its NUL). */
const MAX_NAME_BYTES = 255;

export interface ChunkPlan {
  /** The transaction to run after the declared one (empty when there is no big set). */
  transaction: NftCommandBatch;
  /** `family table name` of every set moved into copies. */
  chunked: string[];
}

function flagsOf(body: Record<string, unknown>): string[] {
  const f = body.flags;
  return Array.isArray(f) ? f.map(String) : typeof f === 'string' ? [f] : [];
}

/**
 * `elem` cut into runs of about `chunk` elements, an element whose key was seen already going
 * with its first occurrence: nft keeps one of two equal elements of a set, and so must the
 * copies, or a duplicate the real set drops would read back as present.
 */
function split(elem: readonly unknown[], chunk: number): unknown[][] {
  const parts: unknown[][] = [[]];
  const where = new Map<string, number>();
  for (const e of elem) {
    const k = elementKey(e);
    const at = where.get(k);
    if (at !== undefined) {
      parts[at]!.push(e);
      continue;
    }
    if (parts[parts.length - 1]!.length >= chunk) parts.push([]);
    parts[parts.length - 1]!.push(e);
    where.set(k, parts.length - 1);
  }
  return parts;
}

/**
 * The copies for `batch` (the `add` commands an apply transaction holds, e.g. from
 * buildApplyTransaction): every set or map declared with more than `chunk` elements, without
 * the `interval` or `constant` flag, is flushed and copied into sets of at most `chunk` elements.
 * Pure; shares element values with `batch`; never throws.
 */
export function planElementChunks(batch: NftCommandBatch, chunk = CHUNK_ELEMENTS): ChunkPlan {
  const flushes: Record<string, unknown>[] = [];
  const adds: Record<string, unknown>[] = [];
  const chunked: string[] = [];
  for (const cmd of batch.nftables) {
    const add = cmd.add as Record<string, Record<string, unknown>> | undefined;
    if (add === undefined) continue;
    const kind = 'set' in add ? 'set' : 'map' in add ? 'map' : undefined;
    if (kind === undefined) continue;
    const body = add[kind]!;
    const elem = body.elem;
    if (!Array.isArray(elem) || elem.length <= chunk) continue;
    const flags = flagsOf(body);
    if (flags.includes('interval') || flags.includes('constant')) continue;
    const name = String(body.name);
    const copies = split(elem, chunk);
    if (Buffer.byteLength(`${name}__nftsync_chunk${copies.length - 1}`) > MAX_NAME_BYTES) continue;
    const { elem: _e, handle: _h, ...def } = body;
    flushes.push({ flush: { [kind]: { family: body.family, table: body.table, name } } });
    copies.forEach((part, i) => adds.push({ add: { [kind]: { ...def, name: `${name}__nftsync_chunk${i}`, elem: part } } }));
    chunked.push(`${String(body.family)} ${String(body.table)} ${name}`);
  }
  return { transaction: { nftables: [...flushes, ...adds] }, chunked };
}

/**
 * `listing` (an `nft -j list ruleset` taken after the plan's transaction) with the copies'
 * elements given back to the sets of `chunked` (appended to their `elem`, in copy order) and
 * the copies removed. Items of other sets are returned as they are. Pure; never throws.
 */
export function mergeChunks(listing: Ruleset, chunked: readonly string[]): Ruleset {
  if (chunked.length === 0) return listing;
  const wanted = new Set(chunked);
  const parts = new Map<string, Array<{ index: number; elem: unknown[] }>>();
  const rest: RulesetItem[] = [];
  for (const item of listing.nftables) {
    const kind = itemKind(item);
    const body = itemBody(item);
    const m = kind === 'set' || kind === 'map' ? SUFFIX.exec(String(body.name)) : null;
    const owner = m ? `${String(body.family)} ${String(body.table)} ${m[1]}` : undefined;
    if (owner !== undefined && wanted.has(owner)) {
      const list = parts.get(owner) ?? [];
      list.push({ index: Number(m![2]), elem: Array.isArray(body.elem) ? body.elem : [] });
      parts.set(owner, list);
    } else rest.push(item);
  }
  return {
    nftables: rest.map((item) => {
      const kind = itemKind(item);
      if (kind !== 'set' && kind !== 'map') return item;
      const body = itemBody(item);
      const list = parts.get(`${String(body.family)} ${String(body.table)} ${String(body.name)}`);
      if (list === undefined) return item;
      const own = Array.isArray(body.elem) ? body.elem : [];
      const elem = [...own, ...list.sort((a, b) => a.index - b.index).flatMap((p) => p.elem)];
      return { [kind]: { ...body, elem } } as RulesetItem;
    }),
  };
}
