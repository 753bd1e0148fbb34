/**
 * Which elements of which sets and maps changed between two revisions, read from the line edits
 * that turn the bytes of one into the other (the ruleset delta on the wire: shared/wire/
 * ruleset-delta.ts) instead of comparing every element: the minimal transaction's planner takes
 * it as a hint (shared/ruleset/minimal-transaction.ts). Pure.
 *
 * The hint is believed only as far as the bytes prove it. The base's bytes must have a known
 * layout (shared/ruleset/element-layout.ts: renderRuleset's text, one element a line, then a pad
 * of lines of spaces), and every edit must either lie inside one set's or map's element lines,
 * remove whole element lines, and insert lines exactly as renderRuleset writes an element there
 * (indentation, canonical JSON, a comma after every element but the last); or lie in the pad
 * (from the line after the text's closing `}` on), remove pad lines and insert lines made only of
 * spaces, leaving the last line empty (shared/ruleset/pad-lines.ts editedPad). Then everything
 * outside those lines is byte for byte the base's, and the pad is whitespace after the JSON
 * value, so the two rulesets differ only in those elements, and the new bytes are renderRuleset's
 * text of the new ruleset again followed by a pad (its layout follows, for the next delta). Each
 * removed line is also compared with the element the base's ruleset holds there (or with the
 * length of the pad line there), and each inserted line with the one the new ruleset holds at
 * its place, so a layout that did not fit would be caught. Anything else (an edit of a rule, a
 * set emptied or filled from empty, a line not written as renderRuleset would, anything but
 * spaces in the pad, an edit reaching both the text and the pad) gives no hint, and the planner
 * compares the elements itself.
 */
import type { LineEdit } from '../wire/ruleset-delta.js';
import type { ElementLayout, ElementLines } from './element-layout.js';
import { editedPad } from './pad-lines.js';
import { itemBody, itemKind } from './ruleset-items.js';
import type { Ruleset } from './ruleset-types.js';
import { signature } from './table-index.js';

/** The element changes of one set or map: positions in `from`'s and `to`'s `elem` arrays. */
export interface SetElementEdit {
  /** Indexes (ascending) in `from`'s `elem` of the elements removed. */
  deleted: number[];
  /** Indexes (ascending) in `to`'s `elem` of the elements inserted. */
  added: number[];
  /** The signatures of `from`'s `elem` (element-layout.ts), when known. */
  signatures?: Uint32Array;
}

declare const proven: unique symbol;

/**
 * `from` and `to` are the same but for the `elem` arrays of the items keyed here (by index in
 * `nftables`, the same in both), each of which is `from`'s with `deleted` removed and `added`
 * inserted. Made only by elementHint (the brand), which proves it from the bytes.
 */
export interface ElementHint {
  readonly sets: ReadonlyMap<number, SetElementEdit>;
  readonly [proven]: true;
}

function elemOf(r: Ruleset, item: number, kind: string): unknown[] | undefined {
  const it = r.nftables[item];
  if (it === undefined || itemKind(it) !== kind) return undefined;
  const elem = itemBody(it).elem;
  return Array.isArray(elem) ? elem : undefined;
}

/** The list whose element lines hold `edit` (an insertion may go right after the last one). */
function listOf(lists: readonly ElementLines[], edit: LineEdit): ElementLines | undefined {
  let lo = 0;
  let hi = lists.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const l = lists[mid]!;
    if (edit.line < l.first) hi = mid - 1;
    else if (edit.line > l.first + l.count) lo = mid + 1;
    else return edit.line + edit.deleted.length <= l.first + l.count ? l : undefined;
  }
  return undefined;
}

/**
 * `edits` (in base order, none empty) grouped by the set's or map's element lines that hold each,
 * and the pad they leave (those from the pad's first line on, checked: editedPad); undefined when
 * one lies elsewhere or the pad's edits are not a pad's.
 */
function editsByList(layout: ElementLayout, edits: readonly LineEdit[]): { byList: Map<ElementLines, LineEdit[]>; pad: Uint32Array } | undefined {
  const byList = new Map<ElementLines, LineEdit[]>();
  const padEdits: LineEdit[] = [];
  let last = -1;
  for (const e of edits) {
    if (e.line < last || e.deleted.length + e.inserted.length === 0) return undefined;
    last = e.line + e.deleted.length;
    if (e.line >= layout.padFrom) {
      padEdits.push(e);
      continue;
    }
    const l = listOf(layout.lists, e);
    if (l === undefined || l.item === undefined) return undefined;
    const list = byList.get(l) ?? [];
    list.push(e);
    byList.set(l, list);
  }
  const pad = editedPad(layout.padFrom, layout.pad, padEdits);
  return pad && { byList, pad };
}

/** The JSON of an element line as renderRuleset writes it (`indent`, canonical JSON, `sep`), or undefined. */
function elementText(line: string, indent: string, sep: string): string | undefined {
  if (!line.startsWith(indent) || !line.endsWith(sep)) return undefined;
  const json = line.slice(indent.length, line.length - sep.length);
  try {
    return JSON.stringify(JSON.parse(json)) === json ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The hint that `edits` (base line order, as rebuildFromRulesetDelta gives them) turn `from`
 * (whose bytes have `layout`) into `to` (parsed from the rebuilt bytes), and the layout of the
 * rebuilt bytes; undefined when the edits do not prove it (see the file comment). Never throws.
 */
export function elementHint(layout: ElementLayout, from: Ruleset, to: Ruleset, edits: readonly LineEdit[]): { hint: ElementHint; layout: ElementLayout } | undefined {
  if (from.nftables.length !== to.nftables.length) return undefined;
  const grouped = editsByList(layout, edits);
  if (grouped === undefined) return undefined;
  const { byList, pad } = grouped;
  const sets = new Map<number, SetElementEdit>();
  const lists: ElementLines[] = [];
  let shift = 0;
  for (const l of layout.lists) {
    const mine = byList.get(l);
    if (mine === undefined) {
      lists.push(shift === 0 ? l : { ...l, first: l.first + shift });
      continue;
    }
    const edit = setEdit(l, mine, from, to);
    if (edit === undefined || sets.has(l.item!)) return undefined;
    sets.set(l.item!, l.signatures ? { ...edit, signatures: l.signatures } : edit);
    const count = l.count + edit.added.length - edit.deleted.length;
    const { signatures: _old, ...rest } = l;
    const signatures = l.signatures && nextSignatures(l.signatures, edit, to, l.item!);
    lists.push({ ...rest, first: l.first + shift, count, ...(signatures && { signatures }) });
    shift += count - l.count;
  }
  const padFrom = layout.padFrom + shift;
  return { hint: { sets } as unknown as ElementHint, layout: { lines: padFrom + pad.length + 1, padFrom, pad, lists } };
}

/**
 * The ruleset the bytes rebuilt by `edits` parse to, built from `from` (whose bytes have
 * `layout`) without parsing them, when every inserted element is a string (a blocklist's
 * addresses): strings add no nesting, containers, object shapes or numbers, so the text limits
 * and the schema that `from` passed hold for the result too (parseRuleset: `elem` holds any
 * values); pad lines (spaces) are whitespace after the JSON value and change nothing. Undefined
 * when an inserted element line is anything else, or the edits leave the element lines and the
 * pad (or put anything but spaces in the pad); the caller must then still prove the result with
 * elementHint, which checks every line's form (undefined from it: parse the bytes instead).
 * Shares everything but the changed `elem` arrays and their items with `from`. Never throws.
 */
export function patchedRuleset(layout: ElementLayout, from: Ruleset, edits: readonly LineEdit[]): Ruleset | undefined {
  const byList = editsByList(layout, edits)?.byList;
  if (byList === undefined) return undefined;
  const nftables = from.nftables.slice();
  for (const [l, mine] of byList) {
    const item = from.nftables[l.item!]!;
    const kind = itemKind(item);
    const a = elemOf(from, l.item!, kind);
    if (a === undefined || a.length !== l.count || nftables[l.item!] !== item) return undefined;
    // One array of the final length, filled in order: a million single pushes cost more, and
    // slices joined by concat copy every element twice (and leave 8 MB more to collect).
    let total = a.length;
    for (const e of mine) total += e.inserted.length - e.deleted.length;
    if (total < 0) return undefined;
    const elem = new Array<unknown>(total);
    let j = 0;
    let pos = 0;
    for (const e of mine) {
      const at = e.line - l.first;
      if (at < pos || at + e.deleted.length > a.length) return undefined;
      j = copyRange(elem, j, a, pos, at);
      pos = at + e.deleted.length;
      for (const line of e.inserted) {
        if (!line.startsWith(l.indent)) return undefined;
        const json = line.endsWith(',') ? line.slice(l.indent.length, -1) : line.slice(l.indent.length);
        let v: unknown;
        try {
          v = JSON.parse(json);
        } catch {
          return undefined;
        }
        if (typeof v !== 'string') return undefined;
        elem[j++] = v;
      }
    }
    j = copyRange(elem, j, a, pos, a.length);
    nftables[l.item!] = { [kind]: { ...itemBody(item), elem } } as unknown as Ruleset['nftables'][number];
  }
  return { ...from, nftables };
}

/**
 * Copy `src[from..to)` into `dst` from `at`; returns where it stopped. A function of its own, so
 * that it is optimised once and stays so: patchedRuleset runs once per revision, and its own
 * optimisation is thrown away at every revision for want of type feedback on its other paths.
 */
function copyRange(dst: unknown[], at: number, src: readonly unknown[], from: number, to: number): number {
  for (let k = from; k < to; k++) dst[at++] = src[k];
  return at;
}

/** The signatures of `to`'s list after `edit` of `from`'s (`old`): kept runs copied, inserted strings signed; undefined if one is not a string. */
function nextSignatures(old: Uint32Array, edit: SetElementEdit, to: Ruleset, item: number): Uint32Array | undefined {
  const b = itemBody(to.nftables[item]!).elem as unknown[];
  const { deleted, added } = edit;
  const out = new Uint32Array(b.length);
  let i = 0; // in old
  let j = 0; // in out
  let di = 0;
  let ai = 0;
  const skipDeleted = (): void => {
    while (di < deleted.length && deleted[di] === i) {
      i++;
      di++;
    }
  };
  while (j < b.length) {
    if (ai < added.length && added[ai] === j) {
      const e = b[j];
      if (typeof e !== 'string') return undefined;
      out[j++] = signature(e);
      ai++;
      continue;
    }
    skipDeleted();
    // A run of kept elements up to the next deletion or insertion: copied at once.
    const n = Math.min((di < deleted.length ? deleted[di]! : old.length) - i, (ai < added.length ? added[ai]! : b.length) - j);
    if (n <= 0) return undefined;
    out.set(old.subarray(i, i + n), j);
    i += n;
    j += n;
  }
  skipDeleted();
  return i === old.length && di === deleted.length ? out : undefined;
}

/** The edit of list `l` by `edits`, its lines checked against `from`'s elements: the indexes removed, and where each inserted line lands in the new list with its JSON. */
interface CheckedLines {
  deleted: number[];
  added: number[];
  /** The JSON of each inserted element, in order (canonical: elementText). */
  json: string[];
  /** The new list's length. */
  count: number;
}

/** `edits` of list `l` checked line by line against `from` (each removed line is the element there, each inserted one written as renderRuleset writes it at its place); undefined if any check fails. */
function checkedLines(l: ElementLines, edits: readonly LineEdit[], from: Ruleset): CheckedLines | undefined {
  const kind = itemKind(from.nftables[l.item!]!);
  const a = elemOf(from, l.item!, kind);
  if (a === undefined || a.length !== l.count) return undefined;
  let growth = 0;
  for (const e of edits) growth += e.inserted.length - e.deleted.length;
  const count = l.count + growth;
  if (count === 0) return undefined; // an emptied array is written `[]`: not element lines
  const end = l.first + l.count;
  const lastEdit = edits[edits.length - 1]!;
  // The base's last element keeps no comma: it must stay last, or be removed with new lines after it.
  if (lastEdit.line + lastEdit.deleted.length === end && (lastEdit.deleted.length === 0 || lastEdit.inserted.length === 0)) return undefined;
  const deleted: number[] = [];
  const added: number[] = [];
  const jsons: string[] = [];
  let shift = 0;
  for (const e of edits) {
    const at = e.line - l.first;
    for (let t = 0; t < e.deleted.length; t++) {
      const k = at + t;
      const json = elementText(e.deleted[t]!, l.indent, k < l.count - 1 ? ',' : '');
      if (json === undefined || JSON.stringify(a[k]) !== json) return undefined;
      deleted.push(k);
    }
    for (let t = 0; t < e.inserted.length; t++) {
      const j = at + shift + t;
      const json = elementText(e.inserted[t]!, l.indent, j < count - 1 ? ',' : '');
      if (json === undefined) return undefined;
      added.push(j);
      jsons.push(json);
    }
    shift += e.inserted.length - e.deleted.length;
  }
  return { deleted, added, json: jsons, count };
}

/** The element edit of list `l` by `edits`, checked line by line against `from` and `to`; undefined if any check fails. */
function setEdit(l: ElementLines, edits: readonly LineEdit[], from: Ruleset, to: Ruleset): SetElementEdit | undefined {
  const checked = checkedLines(l, edits, from);
  const b = elemOf(to, l.item!, itemKind(from.nftables[l.item!]!));
  if (checked === undefined || b === undefined || b.length !== checked.count) return undefined;
  const { deleted, added, json } = checked;
  for (let t = 0; t < added.length; t++) if (JSON.stringify(b[added[t]!]) !== json[t]) return undefined;
  return { deleted, added };
}

/** What `edits` do to the elements of one set or map: the indexes of `from`'s elements removed, and the values inserted. */
export interface ElementListChange {
  /** Indexes (ascending) in `from`'s `elem` of the elements removed. */
  deleted: number[];
  /** The elements inserted, in the order of the new list. */
  added: string[];
  /** The new list's length. */
  count: number;
  /** The signatures of `from`'s `elem` (element-layout.ts), when known. */
  signatures?: Uint32Array;
}

/**
 * What `edits` change in the element lists of `from` (whose bytes have `layout`), by the index of
 * each set's or map's item, proven as elementHint proves a hint but without the new ruleset: the
 * edits lie inside element lines, remove whole ones, and insert lines written as renderRuleset
 * writes an element at their place, or they edit the pad and leave a pad. Only when every
 * inserted element is a string (as patchedRuleset: the rebuilt bytes then parse to `from` with
 * exactly these changes, valid as `from` is). A few microseconds per edited line, nothing per
 * element kept: so an agent can start the transaction before it has made the new ruleset
 * (agent/reconcile/early-apply.ts). Undefined when the edits prove nothing of the kind. Never throws.
 */
export function elementListChanges(layout: ElementLayout, from: Ruleset, edits: readonly LineEdit[]): Map<number, ElementListChange> | undefined {
  const byList = editsByList(layout, edits)?.byList;
  if (byList === undefined) return undefined;
  const out = new Map<number, ElementListChange>();
  for (const [l, mine] of byList) {
    const checked = checkedLines(l, mine, from);
    if (checked === undefined || out.has(l.item!)) return undefined;
    const added: string[] = [];
    for (const json of checked.json) {
      const v: unknown = JSON.parse(json); // elementText parsed it already
      if (typeof v !== 'string') return undefined;
      added.push(v);
    }
    out.set(l.item!, { deleted: checked.deleted, added, count: checked.count, ...(l.signatures && { signatures: l.signatures }) });
  }
  return out;
}
