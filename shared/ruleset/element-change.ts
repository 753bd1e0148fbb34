/**
 * Adding and deleting elements of one set or map of a parsed ruleset file: what the element API
 * (`POST …/sets/FAMILY/TABLE/SET/elements`) commits. Pure: it changes the ruleset in memory and
 * says what it changed.
 *
 * Idempotent, as operators expect of a blocklist: adding an element already present (same key,
 * same timeout and value) and deleting one that is absent change nothing and are not counted.
 * An add whose key is present with another timeout, comment or map value replaces it (counted
 * as added). Elements are found wherever the file holds them (the set's `elem`, or separate
 * `element` items); new ones go at the start of the set's own `elem`, in the order given, one
 * element per line once written (shared/render-ruleset.ts), so `git log -p` shows each one added
 * or removed as one line, and no existing line changes (at the end, the last element would gain
 * a comma and show as removed and added again).
 */
import { NftSyncError } from '../errors.js';
import { canonicalJson, elementShape, elementToAdd, elementToDelete, jsonLongerThan, storedElementId, type ElementShape } from './element-value.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import type { Ruleset } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

/** A set or map of a ruleset: `inet filter blocklist`. */
export interface SetAddress {
  family: string;
  table: string;
  name: string;
}

export interface ElementChangeRequest {
  add?: readonly unknown[];
  delete?: readonly unknown[];
  /** Seconds: the timeout of every added element that does not carry its own. */
  timeout?: number;
}

export interface ElementChangeResult {
  kind: 'set' | 'map';
  /** Elements really added or replaced, as stored. */
  added: unknown[];
  /** Elements really removed, as they were stored. */
  deleted: unknown[];
}

/** Where an element sits: the array holding it and its index there. */
interface Slot {
  list: unknown[];
  index: number;
}

const show = (v: unknown): string => JSON.stringify(v);
const label = (kind: string, at: SetAddress): string => `${kind} ${at.family} ${at.table} ${at.name}`;

/** Most characters of an element (and of the reason naming it) an error repeats. */
const SHOWN = 300;
/** `text` cut to `max` characters, marked with `…` when cut. */
const clip = (text: string, max = SHOWN): string => (text.length > max ? `${text.slice(0, max)}…` : text);
/** A reason cut in its middle (it ends by saying what is wrong) to `max` characters. */
const clipMiddle = (text: string, max = SHOWN): string => (text.length > max ? `${text.slice(0, max / 2)}…${text.slice(-max / 2)}` : text);

/**
 * The error for one element. The element is repeated clipped, in the message and in `data`: a
 * client may send megabytes in one element, and it would come back twice in the answer.
 */
function invalid(at: SetAddress, kind: string, list: 'add' | 'delete', index: number, raw: unknown, reason: string): NftSyncError {
  const text = show(raw) ?? 'undefined';
  // A reason that opens with the element (`{"elem": …}: a timeout needs …`) says it once, here.
  const why = reason.startsWith(`${text}: `) ? reason.slice(text.length + 2) : reason;
  return new NftSyncError('NFTSYNC_ERR_ELEMENT_INVALID', `cannot ${list} element ${clip(text)} (${list}[${index}]) ${list === 'add' ? 'to' : 'from'} ${label(kind, at)}: ${clipMiddle(why)}; nothing was changed`, {
    data: { element: text.length > SHOWN ? clip(text) : raw, list, index, set: `${at.family} ${at.table} ${at.name}` },
  });
}

/**
 * The error for an element longer than elements.maxElementChars, refused before any check reads
 * it: the type checks and the message would each go through all of it.
 */
function tooLarge(at: SetAddress, kind: string, list: 'add' | 'delete', index: number, raw: unknown): NftSyncError {
  const max = SHARED_DEFAULTS.elements.maxElementChars;
  const preview = typeof raw === 'string' ? `${JSON.stringify(raw.slice(0, SHOWN))}…` : Array.isArray(raw) ? '[…]' : typeof raw === 'object' ? '{…}' : '…';
  return new NftSyncError('NFTSYNC_ERR_ELEMENT_INVALID', `cannot ${list} element ${preview} (${list}[${index}]) ${list === 'add' ? 'to' : 'from'} ${label(kind, at)}: it is larger than ${max} characters of JSON, and no element nft takes is; nothing was changed`, {
    data: { element: preview, list, index, set: `${at.family} ${at.table} ${at.name}` },
  });
}

/**
 * The request `req` checked against the set or map `at` of element shape `shape`: the elements
 * to add by id (canonical, listed form; the last of duplicates wins, at the end) and the ids to
 * delete. Errors: NFTSYNC_ERR_ELEMENT_INVALID as applyElementChange's (an element that does not
 * fit, is too long, or is both added and deleted; the message names the value). Pure.
 */
export function checkElementRequest(shape: ElementShape, at: SetAddress, req: ElementChangeRequest): { adds: Map<string, unknown>; deletes: Set<string> } {
  const kind = shape.kind;
  const adds = new Map<string, unknown>();
  const maxChars = SHARED_DEFAULTS.elements.maxElementChars;
  (req.add ?? []).forEach((raw, i) => {
    if (jsonLongerThan(raw, maxChars)) throw tooLarge(at, kind, 'add', i, raw);
    const c = elementToAdd(shape, raw, req.timeout);
    if (!c.ok) throw invalid(at, kind, 'add', i, raw, c.reason);
    adds.delete(c.value.id); // the last of duplicates wins, at the end
    adds.set(c.value.id, c.value.value);
  });
  const deletes = new Set<string>();
  (req.delete ?? []).forEach((raw, i) => {
    if (jsonLongerThan(raw, maxChars)) throw tooLarge(at, kind, 'delete', i, raw);
    const c = elementToDelete(shape, raw);
    if (!c.ok) throw invalid(at, kind, 'delete', i, raw, c.reason);
    if (adds.has(c.value)) throw invalid(at, kind, 'delete', i, raw, 'the same request also adds it: send one or the other');
    deletes.add(c.value);
  });
  return { adds, deletes };
}

/**
 * Apply `req` to the set or map `at` of `ruleset` (changed in place). Errors:
 * NFTSYNC_ERR_SET_NOT_FOUND (no such set or map; the message lists those the ruleset has),
 * NFTSYNC_ERR_ELEMENT_INVALID (an element does not fit the set, is longer than
 * elements.maxElementChars characters of JSON, is both added and deleted, or an added interval
 * overlaps another; the message names the value, `data.element` holds it as
 * sent, or its JSON clipped to 300 characters when longer). On an error the ruleset is left unchanged.
 *
 * New elements go after the set's others, in the order given: consecutive texts of a set changed
 * this way share everything before them (compose-ruleset.ts, composed-text.ts: the hash and the
 * delta of the next text start there). In `git log -p` of a file rewritten whole, the old last
 * element's line shows as changed too (it gains a comma).
 */
export function applyElementChange(ruleset: Ruleset, at: SetAddress, req: ElementChangeRequest): ElementChangeResult {
  const items = ruleset.nftables;
  const declared = items.findIndex((item) => {
    const kind = itemKind(item);
    const b = itemBody(item);
    return (kind === 'set' || kind === 'map') && b.family === at.family && b.table === at.table && b.name === at.name;
  });
  if (declared < 0) {
    const known = items.filter((i) => itemKind(i) === 'set' || itemKind(i) === 'map').map((i) => `${String(itemBody(i).family)}/${String(itemBody(i).table)}/${String(itemBody(i).name)}`);
    throw new NftSyncError('NFTSYNC_ERR_SET_NOT_FOUND', `the ruleset declares no set or map ${at.family}/${at.table}/${at.name} (it has ${known.length === 0 ? 'none' : known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})`, {
      data: { set: `${at.family} ${at.table} ${at.name}` },
    });
  }
  const kind = itemKind(items[declared]!) as 'set' | 'map';
  const body = itemBody(items[declared]!);
  const shape = elementShape(kind, body);

  const { adds, deletes } = checkElementRequest(shape, at, req);

  // Where each element of the set is now: its own elem, then separate `element` items.
  const own = Array.isArray(body.elem) ? (body.elem as unknown[]) : [];
  const lists: unknown[][] = [own];
  for (const item of items) {
    if (itemKind(item) !== 'element') continue;
    const b = itemBody(item);
    if (b.family === at.family && b.table === at.table && b.name === at.name && Array.isArray(b.elem)) lists.push(b.elem as unknown[]);
  }
  // One number per element (list * 2^32 + index) rather than an object: a set may hold millions.
  const first = new Map<string, number>();
  const more = new Map<string, number[]>();
  lists.forEach((list, k) => {
    list.forEach((e, index) => {
      const id = storedElementId(shape, e);
      const at = k * 2 ** 32 + index;
      if (!first.has(id)) first.set(id, at);
      else more.set(id, [...(more.get(id) ?? []), at]);
    });
  });
  const slotsOf = (id: string): Slot[] => {
    const f = first.get(id);
    if (f === undefined) return [];
    return [f, ...(more.get(id) ?? [])].map((n) => ({ list: lists[Math.floor(n / 2 ** 32)]!, index: n % 2 ** 32 }));
  };

  const added: unknown[] = [];
  const deleted: unknown[] = [];
  const removed = new Map<unknown[], Set<number>>();
  const appended: unknown[] = [];
  for (const id of deletes) {
    for (const s of slotsOf(id)) {
      deleted.push(s.list[s.index]);
      const r = removed.get(s.list) ?? new Set<number>();
      r.add(s.index);
      removed.set(s.list, r);
    }
  }
  const replaced: Array<{ slot: Slot; value: unknown }> = [];
  for (const [id, value] of adds) {
    const present = first.has(id) ? slotsOf(id) : undefined;
    if (present === undefined) {
      appended.push(value);
      added.push(value);
    } else if (canonicalJson(present[0]!.list[present[0]!.index]) !== canonicalJson(value)) {
      replaced.push({ slot: present[0]!, value });
      added.push(value);
    }
  }
  if (shape.interval) checkOverlaps(shape, at, kind, lists, removed, replaced, appended, req.add ?? []);

  // Nothing above changed the ruleset: an error leaves it as it was.
  for (const { slot, value } of replaced) slot.list[slot.index] = value;
  for (const [list, indexes] of removed) {
    const kept = list.filter((_e, i) => !indexes.has(i));
    list.length = 0;
    for (const e of kept) list.push(e);
  }
  // concat, not push(...appended): a spread of 200,000 arguments overflows the stack.
  if (appended.length > 0) body.elem = own.concat(appended);
  if (Array.isArray(body.elem) && body.elem.length === 0) delete body.elem;
  ruleset.nftables = items.filter((item) => itemKind(item) !== 'element' || !Array.isArray(itemBody(item).elem) || (itemBody(item).elem as unknown[]).length > 0);
  return { kind, added, deleted };
}

/** `START-LAST` (hex) of an interval id, as numbers; undefined for elements nothing reads. */
function bounds(id: string): [bigint, bigint] | undefined {
  const m = /^([0-9a-f]+)-([0-9a-f]+)$/.exec(id);
  return m ? [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)] : undefined;
}

/**
 * nft refuses overlapping intervals in a set without auto-merge; name the added one that
 * overlaps, and what it overlaps, before any commit is made. Overlaps among elements already in
 * the file are not this change's doing and are left to the validator.
 */
function checkOverlaps(shape: ElementShape, at: SetAddress, kind: string, lists: unknown[][], removed: Map<unknown[], Set<number>>, replaced: ReadonlyArray<{ slot: Slot }>, appended: readonly unknown[], raws: readonly unknown[]): void {
  const all: Array<{ b: [bigint, bigint]; value: unknown; isNew: boolean }> = [];
  const replacedAt = new Map<unknown[], Set<number>>();
  for (const { slot } of replaced) replacedAt.set(slot.list, (replacedAt.get(slot.list) ?? new Set()).add(slot.index));
  for (const list of lists) {
    list.forEach((e, i) => {
      if (removed.get(list)?.has(i)) return;
      const b = bounds(storedElementId(shape, e));
      if (b) all.push({ b, value: e, isNew: replacedAt.get(list)?.has(i) === true });
    });
  }
  for (const e of appended) {
    const b = bounds(storedElementId(shape, e));
    if (b) all.push({ b, value: e, isNew: true });
  }
  all.sort((x, y) => (x.b[0] < y.b[0] ? -1 : x.b[0] > y.b[0] ? 1 : 0));
  let widest = all[0];
  for (let i = 1; i < all.length; i++) {
    const e = all[i]!;
    if (widest !== undefined && e.b[0] <= widest.b[1] && (e.isNew || widest.isNew)) {
      const [mine, other] = e.isNew ? [e, widest] : [widest, e];
      const index = raws.findIndex((r) => {
        const c = elementToAdd(shape, r);
        return c.ok && canonicalJson(c.value.value) === canonicalJson(mine.value);
      });
      throw invalid(at, kind, 'add', Math.max(index, 0), raws[Math.max(index, 0)] ?? mine.value, `it overlaps ${show(other.value)}${other.isNew ? ', also added' : ', already in the set'} (nft refuses overlapping intervals)`);
    }
    if (widest === undefined || e.b[1] > widest.b[1]) widest = e;
  }
}
