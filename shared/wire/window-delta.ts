/**
 * A ruleset delta (grammar in shared/wire/ruleset-delta.ts) for two texts that differ in one
 * window of lines only, found without walking the files line by line. Pure.
 *
 * The element API makes each revision from the last by one change file (server/git/
 * element-tips.ts): adding elements inserts their lines in one block (shared/ruleset/
 * composed-text.ts puts a set's new elements after its others), so the texts share everything
 * before and after that block, but for the pad a big text ends with (shared/ruleset/text-pad.ts:
 * lines of spaces keeping its size), which the block's bytes took from or gave to. Here the common
 * prefix and suffix are found with native comparisons (the prefix the caller knows is shared is
 * not compared: ComposedText.sharedHead), the lines after the window counted (SIMD), and the delta
 * is `= A`, `- X`, `+ Y` (the window's lines in the target), then, when the pads differ, `= B`,
 * `- P`, `+ Q` (the pad lines one has more, and its shorter first line), and `= C`: about 1 ms for
 * a 25 MB text with the base's line count and shared head known, where encodeRulesetDelta spends
 * 10-30 ms looking at lines.
 *
 * Only a window that holds nothing but the change is taken (the pad's lines aside): at most
 * `deleted + 1` lines of the base and `added + 1` of the target (the one more: the line whose trailing comma the change
 * added or took away). The delta is then the one hunk encodeRulesetDelta would find too, so the
 * agent rebuilds the same bytes and reads the same edit from it (its hint for planning). A wider
 * window (changes far apart) gives undefined: the caller runs encodeRulesetDelta instead.
 * Example: base `a\nb\nc\n` and target `a\nb\nx\ny\nc\n` (2 added) are `= 2`, `+ 2` with `x` and
 * `y`, `= 2` (the last `= 2`: `c` and the empty line after the last `\n`).
 */
import { commonPrefixLength } from './common-prefix-length.js';
import { countNewlines } from './count-newlines.js';
import { MAGIC } from './delta-writer.js';

const FIRST_CHUNK = 256;

/** Where `target` (the target's bytes from `from` on) and the base differ in lines: none if they do not. */
interface Hunk {
  /** The base line the hunk starts at. */
  line: number;
  removed: number;
  /** The target's bytes the hunk inserts (whole lines), and how many lines. */
  bytes: Buffer;
  inserted: number;
}

/**
 * Bytes `a` (up to `aEnd`) and `b` (up to `bEnd`) share at their ends, at most `max`: chunks from
 * the end compared natively, doubling, then halved.
 */
function commonSuffixLength(a: Buffer, aEnd: number, b: Buffer, bEnd: number, max: number): number {
  let n = 0;
  let chunk = FIRST_CHUNK;
  while (n < max) {
    const step = Math.min(chunk, max - n);
    if (a.compare(b, bEnd - n - step, bEnd - n, aEnd - n - step, aEnd - n) !== 0) {
      // The difference lies in this chunk: halve it down to bytes (the last `lo` are known equal).
      let lo = n;
      let hi = n + step;
      while (hi - lo > 1) {
        const mid = lo + ((hi - lo) >>> 1);
        if (a.compare(b, bEnd - mid, bEnd - lo, aEnd - mid, aEnd - lo) === 0) lo = mid;
        else hi = mid;
      }
      return lo;
    }
    n += step;
    chunk *= 2;
  }
  return n;
}

/** What windowDelta may be told of the two texts (each must be right when given). */
export interface WindowDeltaOptions {
  /** The base's count of lines (its `\n` plus one): then only the lines after the window are counted. */
  baseLines?: number;
  /** Bytes at the start of both texts known equal, taken without comparing them (ComposedText.sharedHead). */
  knownPrefix?: number;
  /** Bytes of pad (shared/ruleset/text-pad.ts: lines of spaces) at the end of the base and of the target; default none. */
  pads?: { base: number; target: number };
  /**
   * `target` holds the target's bytes from this offset on (the tail alone: the element API works
   * the delta out before the 25 MB text is joined); those before it are the base's, so it must
   * not exceed the prefix the two share. The window must then start at or after it (else:
   * undefined).
   */
  targetFrom?: number;
}

/**
 * The delta from `base` to `target` as one window of lines plus, when their pads differ (see the
 * header), one in the pads: when the texts before their pads differ in one window of at most
 * `deleted + 1` base lines and `added + 1` target lines. Returns it with the target's count of
 * lines (its `\n` plus one: pass it as `baseLines` of the next call); undefined otherwise (a
 * wider window, the texts equal, a window that reaches the last line without a newline after it,
 * a pad that does not end a line or follow one), or when the delta would not be under half of the
 * target (as encodeRulesetDelta: the whole ruleset is sent then). What `opts` tells must be right
 * (WindowDeltaOptions). Never throws.
 */
export function windowDelta(base: Buffer, target: Buffer, change: { added: number; deleted: number }, opts: WindowDeltaOptions = {}): { delta: Buffer; lines: number } | undefined {
  const from = opts.targetFrom ?? 0;
  const targetLength = from + target.length;
  const tb = base.length - (opts.pads?.base ?? 0);
  const tt = targetLength - (opts.pads?.target ?? 0);
  if (tb < 0 || tt < from) return undefined;
  // A pad is whole lines after a line: the hunks below then start and end at line starts.
  const lastOfContent = (tt === 0 ? 10 : tt > from ? target[tt - from - 1] : base[tt - 1]);
  if (tb < base.length && (base[base.length - 1] !== 10 || (tb > 0 && base[tb - 1] !== 10))) return undefined;
  if (tt < targetLength && (target[target.length - 1] !== 10 || lastOfContent !== 10)) return undefined;
  const shortest = Math.min(tb, tt);
  const known = Math.min(opts.knownPrefix ?? 0, shortest);
  if (from > known) return undefined;
  const prefix = Math.min(shortest, known + commonPrefixLength(base, known, target, known - from));
  const hunks: Hunk[] = [];
  let padNewlinesBase: number | undefined;
  let contentNewlines: number | undefined;
  let after = 0;
  if (prefix < tb || prefix < tt) {
    // The window starts at a line start, and ends at one (after a `\n`) in both texts.
    const start = prefix === 0 ? 0 : base.lastIndexOf(10, prefix - 1) + 1;
    if (start < from) return undefined;
    const suffix = commonSuffixLength(base, tb, target, tt - from, shortest - start);
    const tail = tb - suffix;
    const grown = tt - tb;
    // The suffix starts after a `\n` in both texts, or else after the first `\n` inside it.
    const targetAt = (i: number): number | undefined => (i >= from ? target[i - from] : base[i]);
    const endsLine = (e: number): boolean => (e === start || base[e - 1] === 10) && (e + grown === start || targetAt(e + grown - 1) === 10);
    const endBase = endsLine(tail) ? tail : base.indexOf(10, tail) + 1;
    if (endBase === 0 || endBase > tb) return undefined;
    const endTarget = endBase + grown;
    if (endBase < start || endTarget < start || endTarget > tt) return undefined;
    const removed = countNewlines(base, start, endBase);
    const inserted = countNewlines(target, start - from, endTarget - from);
    if (removed > change.deleted + 1 || inserted > change.added + 1 || removed + inserted === 0) return undefined;
    after = countNewlines(base, endBase, tb);
    const before = opts.baseLines === undefined ? countNewlines(base, 0, start) : undefined;
    hunks.push({ line: before ?? -1, removed, bytes: target.subarray(start - from, endTarget - from), inserted });
    if (before !== undefined) contentNewlines = before + removed + after;
  }
  const padBase = base.subarray(tb);
  const padTarget = target.subarray(tt - from);
  if (!padBase.equals(padTarget)) {
    // The pads' shared end, from a line start in both (the byte before it, a `\n`, is shared too).
    const shared = commonSuffixLength(padBase, padBase.length, padTarget, padTarget.length, Math.min(padBase.length, padTarget.length));
    let sa = padBase.length - shared;
    let st = padTarget.length - shared;
    // Both end with a `\n`, so this stops: the bytes from `sa` and `st` are the same.
    for (;;) {
      const d = sa > 0 && padBase[sa - 1] !== 10 ? padBase.indexOf(10, sa) + 1 - sa : st > 0 && padTarget[st - 1] !== 10 ? padTarget.indexOf(10, st) + 1 - st : 0;
      if (d <= 0) break;
      sa += d;
      st += d;
    }
    // Line starts in both, after content that ends a line in both (or none).
    const ends = (tb === 0 || base[tb - 1] === 10) && lastOfContent === 10;
    if (!ends || (sa > 0 && padBase[sa - 1] !== 10) || (st > 0 && padTarget[st - 1] !== 10)) return undefined;
    padNewlinesBase = countNewlines(padBase, 0, padBase.length);
    hunks.push({ line: -2, removed: countNewlines(padBase, 0, sa), bytes: padTarget.subarray(0, st), inserted: countNewlines(padTarget, 0, st) });
  }
  if (hunks.length === 0) return undefined;
  // Lines of the base: given, or counted (the content's, counted above when there was a window, and the pad's).
  const padNewlines = padNewlinesBase ?? (tb < base.length ? countNewlines(base, tb, base.length) : 0);
  const baseNewlines = opts.baseLines !== undefined ? opts.baseLines - 1 : (contentNewlines ?? countNewlines(base, 0, tb)) + padNewlines;
  contentNewlines = baseNewlines - padNewlines;
  for (const h of hunks) {
    if (h.line === -1) h.line = contentNewlines - after - h.removed;
    else if (h.line === -2) h.line = contentNewlines;
  }
  const parts: Buffer[] = [];
  let ops = `${MAGIC}\n`;
  let at = 0;
  let lines = baseNewlines + 1;
  for (const h of hunks) {
    if (h.line < at) return undefined;
    ops += `${h.line > at ? `= ${h.line - at}\n` : ''}${h.removed > 0 ? `- ${h.removed}\n` : ''}${h.inserted > 0 ? `+ ${h.inserted}\n` : ''}`;
    if (h.inserted > 0) {
      parts.push(Buffer.from(ops), h.bytes);
      ops = '';
    }
    at = h.line + h.removed;
    lines += h.inserted - h.removed;
  }
  ops += `= ${baseNewlines + 1 - at}\n`;
  parts.push(Buffer.from(ops));
  const size = parts.reduce((n, p) => n + p.length, 0);
  if (size * 2 >= targetLength) return undefined;
  return { delta: Buffer.concat(parts), lines };
}
