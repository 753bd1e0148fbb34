/**
 * Where the elements of a revision's sets and maps are, line by line, in its bytes: known only
 * when the bytes are exactly renderRuleset's text of the parsed ruleset (shared/ruleset/
 * render-ruleset.ts: one element a line), which is how the server and the element API write a
 * ruleset, followed by a pad of lines of spaces (shared/ruleset/pad-lines.ts: the server keeps
 * consecutive revisions at one size with it; none at all is the plain text). With it, a line edit
 * of the bytes (a delta on the wire) tells which elements were deleted and added without
 * comparing a million elements (shared/ruleset/element-hint.ts). Pure.
 *
 * The layout is established once by rendering the ruleset and comparing the text with the bytes
 * (about 0.5 s for 1,000,000 elements), the rest of them checked to be a pad (natively, a line at
 * a time), then carried from revision to revision by elementHint, which accepts only edits that
 * keep the bytes renderRuleset's text and a pad: so a layout is never assumed of bytes that were
 * not checked, directly or by that induction.
 */
import { renderRulesetLines } from './render-ruleset.js';
import { padLines } from './pad-lines.js';
import { itemBody, itemKind } from './ruleset-items.js';
import type { Ruleset } from './ruleset-types.js';
import { signature } from './table-index.js';

/** One non-empty `elem` array: element k is on line `first + k`, `indent` then its JSON then `,` (none after the last). */
export interface ElementLines {
  /** Index in `nftables` of the set or map item whose `elem` this is; undefined for any other `elem` (an `element` item's). */
  item: number | undefined;
  first: number;
  count: number;
  indent: string;
  /**
   * Of a set's or map's own list whose elements are all strings: each element's signature
   * (table-index.ts `signature`), so the planner's pass over the list for duplicates reads numbers
   * (diffElementsByHint). Carried from revision to revision with the layout.
   */
  signatures?: Uint32Array;
}

/** The element lines of a text that is renderRuleset's output of its parsed ruleset, followed by a pad. */
export interface ElementLayout {
  /** Lines of the text, pad included, as the ruleset delta counts them (its `\n` plus one): `padFrom + pad.length + 1`. */
  lines: number;
  /**
   * The line the pad starts on: the one after renderRuleset's closing `}` (where its text's empty
   * last line is when there is no pad). Lines before it are renderRuleset's; from it on, `pad`.
   */
  padFrom: number;
  /**
   * The length in bytes (without `\n`) of each pad line, lines `padFrom` on (pad-lines.ts padLines;
   * empty: no pad). The text's last line, after them, is empty. Do not change it: it is carried
   * to the next revision's layout as it is when the pad is not edited.
   */
  pad: Uint32Array;
  /** Every non-empty `elem` array, in text order. */
  lists: ElementLines[];
}

/**
 * The layout of `bytes`, given `ruleset` parsed from them, or undefined when the bytes are not
 * renderRuleset's text of it followed by a pad (written by hand, by an older server, with other
 * indentation, anything but spaces and `\n` after the text, a last pad line without its `\n`:
 * no hint is taken from a delta against them then). Never throws on a parsed ruleset.
 */
export function elementLayout(bytes: Buffer, ruleset: Ruleset): ElementLayout | undefined {
  const { text, lines, elemLists } = renderRulesetLines(ruleset);
  const size = Buffer.byteLength(text);
  if (size > bytes.length || !Buffer.from(text).equals(bytes.subarray(0, size))) return undefined;
  const pad = padLines(bytes, size);
  if (pad === undefined) return undefined;
  const items = new Map<object, number>();
  ruleset.nftables.forEach((item, i) => {
    const kind = itemKind(item);
    if (kind === 'set' || kind === 'map') items.set(itemBody(item), i);
  });
  return {
    lines: lines + pad.length,
    padFrom: lines - 1,
    pad,
    lists: elemLists.map((l) => {
      const item = items.get(l.parent);
      const signatures = item === undefined ? undefined : signaturesOf((l.parent as { elem: unknown[] }).elem);
      return { item, first: l.first, count: l.count, indent: l.indent, ...(signatures && { signatures }) };
    }),
  };
}

/** The signatures of `elem` when its elements are all strings, else undefined. */
export function signaturesOf(elem: readonly unknown[]): Uint32Array | undefined {
  const out = new Uint32Array(elem.length);
  for (let k = 0; k < elem.length; k++) {
    const e = elem[k];
    if (typeof e !== 'string') return undefined;
    out[k] = signature(e);
  }
  return out;
}
