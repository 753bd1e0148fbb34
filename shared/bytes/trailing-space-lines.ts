/**
 * Where the lines of spaces at the end of a text start: the pad a big composed ruleset ends with
 * (shared/ruleset/text-pad.ts), found in any text without knowing how it was made, so that the
 * ruleset delta encoder (shared/wire/ruleset-delta.ts) can work on the text and its pad apart.
 * Pure.
 */

/** Spaces compared with a line's bytes, a chunk at a time (natively). */
const SPACES = Buffer.alloc(4096, 0x20);

/**
 * Most trailing lines of spaces taken as a pad (shared/ruleset/pad-lines.ts PAD_MAX_LINES): the
 * server's pad has about 8,200 lines at most; a text ending in more is taken whole.
 */
export const SPACE_LINES_MAX = 1 << 16;

/** Whether `bytes[start, end)` are all spaces (natively, no copy). Pure. */
export function allSpaces(bytes: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p += SPACES.length) {
    const n = Math.min(SPACES.length, end - p);
    if (bytes.compare(SPACES, 0, n, p, p + n) !== 0) return false;
  }
  return true;
}

/**
 * The offset the trailing lines of `bytes` made only of spaces (or empty) start at: a line start
 * after a line holding something else, so `bytes[offset - 1]` is a `\n`. `bytes.length` when
 * there are none, when `bytes` does not end with `\n`, when it is nothing but such lines, or when
 * there are more than `maxLines` of them (not a pad: the caller takes the text whole). One native
 * search and comparison per line. Never throws.
 */
export function trailingSpaceLines(bytes: Buffer, maxLines = SPACE_LINES_MAX): number {
  const end = bytes.length;
  if (end === 0 || bytes[end - 1] !== 10) return end;
  let start = end;
  for (let lines = 0; lines <= maxLines; lines++) {
    // The line that ends at start - 1 (its `\n`).
    const lineStart = start >= 2 ? bytes.lastIndexOf(10, start - 2) + 1 : 0;
    if (!allSpaces(bytes, lineStart, start - 1)) return start;
    if (lineStart === 0) return end;
    start = lineStart;
  }
  return end;
}
