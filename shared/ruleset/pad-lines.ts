/**
 * The pad after a ruleset's text: lines of spaces the server may append to renderRuleset's text
 * (which ends in `\n`) so that consecutive revisions keep the same size (their hashes can then be
 * resumed). JSON parsers skip it as whitespace after the value. Pure.
 *
 * Grammar: zero or more lines, each made only of spaces (0x20, possibly none) and ended by `\n`.
 * The server writes n pad bytes as one line of n mod 1024 bytes (when not 0) then floor(n / 1024)
 * lines of 1023 spaces and `\n`, but any such lines are accepted, of any length.
 *
 * As the ruleset delta counts lines (shared/wire/ruleset-delta.ts: split on `\n`), a padded text
 * whose renderRuleset part has L lines (its last one the empty line after its final `\n`) has its
 * pad on lines L - 1 ... L - 2 + k and its empty last line at L - 1 + k. Here a pad is described by
 * the length of each of its lines (bytes, without `\n`): what a line edit removing some of them
 * is checked against, and what tells whether the line a deletion leaves last is empty (the bytes
 * then still end in `\n`). Used by element-layout.ts (found once) and element-hint.ts (carried).
 */
import type { LineEdit } from '../wire/ruleset-delta.js';
import { allSpaces, SPACE_LINES_MAX } from '../bytes/trailing-space-lines.js';

/**
 * Most lines a pad may have. The server's pad is at most 8 MiB (shared/ruleset/text-pad.ts) in
 * lines of 1 KiB: about 8,200 lines; this leaves a wide margin. A text followed by more (20 MB of
 * newlines, from a hostile server or a pushed file) has no pad, so no layout: its lines' lengths
 * would cost 4 bytes each in the layout kept with the bytes, and far more while they are found.
 */
export const PAD_MAX_LINES = SPACE_LINES_MAX;

/** A line made only of spaces (or empty). */
const SPACE_LINE = /^ *$/;

/**
 * The length of each pad line of `bytes` from `from` (a line start, at most `bytes.length`) to
 * their end: empty when `from` is their end. Undefined when they are not a pad: a byte that is
 * neither a space nor `\n`, a last line not ended by `\n`, or more than PAD_MAX_LINES lines. One
 * native search and comparison per line, no string made. Never throws.
 */
export function padLines(bytes: Buffer, from: number): Uint32Array | undefined {
  if (from > bytes.length) return undefined;
  const lengths: number[] = [];
  for (let p = from; p < bytes.length; ) {
    const nl = bytes.indexOf(10, p);
    if (nl < 0 || lengths.length === PAD_MAX_LINES || !allSpaces(bytes, p, nl)) return undefined;
    lengths.push(nl - p);
    p = nl + 1;
  }
  return Uint32Array.from(lengths);
}

/**
 * The pad after `edits` of a text whose pad starts on line `padFrom` with lines of lengths `pad`
 * (padLines; the text's empty last line follows it). Each edit must lie in the pad or its last
 * line (`padFrom` <= line, line + deleted <= padFrom + pad.length + 1: an insertion may go right
 * after the last line of the text before the pad, or after the text's last line), remove lines of
 * the lengths recorded there, and insert lines made only of spaces; edits in base order, none
 * overlapping; and the line left last must be empty (the bytes still end in `\n`). Then the
 * edited lines are a pad again (of at most PAD_MAX_LINES lines), whose lengths are returned (the
 * same array when there are no edits); undefined otherwise. Linear in the pad's lines (edits
 * there are rare: the whole pad is a few thousand lines), plus the inserted lines' bytes
 * (natively). Never throws.
 */
export function editedPad(padFrom: number, pad: Uint32Array, edits: readonly LineEdit[]): Uint32Array | undefined {
  if (edits.length === 0) return pad;
  // The pad's lines and the text's empty last line, as edited in place by the delta.
  const tail = new Uint32Array(pad.length + 1);
  tail.set(pad);
  let size = tail.length;
  for (const e of edits) size += e.inserted.length - e.deleted.length;
  if (size < 1 || size - 1 > PAD_MAX_LINES) return undefined;
  const out = new Uint32Array(size);
  let j = 0;
  let pos = 0;
  for (const e of edits) {
    const at = e.line - padFrom;
    if (at < pos || at + e.deleted.length > tail.length) return undefined;
    out.set(tail.subarray(pos, at), j);
    j += at - pos;
    for (let t = 0; t < e.deleted.length; t++) if (e.deleted[t]!.length !== tail[at + t]) return undefined;
    pos = at + e.deleted.length;
    for (const line of e.inserted) {
      if (!SPACE_LINE.test(line)) return undefined;
      out[j++] = line.length;
    }
  }
  out.set(tail.subarray(pos), j);
  j += tail.length - pos;
  if (j !== size || out[size - 1] !== 0) return undefined;
  return out.subarray(0, size - 1);
}
