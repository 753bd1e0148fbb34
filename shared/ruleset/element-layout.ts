/**
 * Where the elements of a revision's sets and maps are, line by line, in its bytes: known only
 * when the bytes are exactly renderRuleset's text of the parsed ruleset (shared/ruleset/
 * render-ruleset.ts: one element a line), which is how the server and the element API write a
 * ruleset. With it, a line edit of the bytes (a delta on the wire) tells which elements were
 * deleted and added without comparing a million elements (shared/ruleset/element-hint.ts).
 * Pure.
 *
 * The layout is established once by rendering the ruleset and comparing the text with the bytes
 * (about 0.5 s for 1,000,000 elements), then carried from revision to revision by elementHint,
 * which accepts only edits that keep the bytes renderRuleset's text: so a layout is never
 * assumed of bytes that were not checked, directly or by that induction.
 */
import { renderRulesetLines } from './render-ruleset.js';
import { itemBody, itemKind, type Ruleset } from './ruleset-types.js';

/** One non-empty `elem` array: element k is on line `first + k`, `indent` then its JSON then `,` (none after the last). */
export interface ElementLines {
  /** Index in `nftables` of the set or map item whose `elem` this is; undefined for any other `elem` (an `element` item's). */
  item: number | undefined;
  first: number;
  count: number;
  indent: string;
}

/** The element lines of a text that is renderRuleset's output of its parsed ruleset. */
export interface ElementLayout {
  /** Lines of the text, as the ruleset delta counts them (its `\n` plus one). */
  lines: number;
  /** Every non-empty `elem` array, in text order. */
  lists: ElementLines[];
}

/**
 * The layout of `bytes`, given `ruleset` parsed from them, or undefined when the bytes are not
 * renderRuleset's text of it (written by hand, by an older server, with other indentation: no
 * hint is taken from a delta against them then). Never throws on a parsed ruleset.
 */
export function elementLayout(bytes: Buffer, ruleset: Ruleset): ElementLayout | undefined {
  const { text, lines, elemLists } = renderRulesetLines(ruleset);
  if (Buffer.byteLength(text) !== bytes.length || !Buffer.from(text).equals(bytes)) return undefined;
  const items = new Map<object, number>();
  ruleset.nftables.forEach((item, i) => {
    const kind = itemKind(item);
    if (kind === 'set' || kind === 'map') items.set(itemBody(item), i);
  });
  return { lines, lists: elemLists.map((l) => ({ item: items.get(l.parent), first: l.first, count: l.count, indent: l.indent })) };
}
