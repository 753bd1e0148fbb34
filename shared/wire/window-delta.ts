/**
 * A ruleset delta (grammar in shared/wire/ruleset-delta.ts) for two texts that differ in one
 * window of lines only, found without walking the files line by line. Pure.
 *
 * The element API makes each revision from the last by one change file (server/git/
 * element-tips.ts): adding elements inserts their lines in one block (shared/ruleset/
 * composed-text.ts puts a set's new elements first), so the texts share everything before and
 * after that block. Here the common prefix and suffix are found with native comparisons, their
 * lines counted (SIMD), and the delta is `= A`, `- X`, `+ Y` (the window's lines in the target),
 * `= B`: 2-5 ms for a 25 MB text with the base's line count known (about 10 ms counting them),
 * where encodeRulesetDelta spends 10-30 ms looking at lines.
 *
 * Only a window that holds nothing but the change is taken: at most `deleted + 1` lines of the
 * base and `added + 1` of the target (the one more: the line whose trailing comma the change
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

/**
 * Bytes `a` and `b` share at their ends, at most `max`: chunks from the end compared natively,
 * doubling, then halved. The last `known` bytes are taken as equal without comparing them. `b`
 * may be the start of a text of `bLength` bytes (its end is then never read: `known` covers it).
 */
function commonSuffixLength(a: Buffer, b: Buffer, max: number, known = 0, bLength = b.length): number {
  let n = Math.min(known, max);
  let chunk = FIRST_CHUNK;
  while (n < max) {
    const step = Math.min(chunk, max - n);
    if (a.compare(b, bLength - n - step, bLength - n, a.length - n - step, a.length - n) !== 0) {
      // The difference lies in this chunk: halve it down to bytes (the last `lo` are known equal).
      let lo = n;
      let hi = n + step;
      while (hi - lo > 1) {
        const mid = lo + ((hi - lo) >>> 1);
        if (a.compare(b, bLength - mid, bLength - lo, a.length - mid, a.length - lo) === 0) lo = mid;
        else hi = mid;
      }
      return lo;
    }
    n += step;
    chunk *= 2;
  }
  return n;
}

/**
 * The delta from `base` to `target` as one window of lines, when the texts differ in one window
 * of at most `deleted + 1` base lines and `added + 1` target lines (see the header), with the
 * target's count of lines (its `\n` plus one: pass it as `baseLines` of the next call, which then
 * counts only the lines before the window); undefined otherwise (a wider window, the texts
 * equal, a window that reaches the last line without a newline after it), or when the delta
 * would not be under half of `target` (as encodeRulesetDelta: the whole ruleset is sent then).
 * `baseLines` must be right when given, and so must `knownSuffix`: bytes at the ends of the two
 * texts known to be equal (ComposedText.sharedTail), taken without comparing them (a 25 MB
 * comparison costs 5-10 ms). With `targetLength`, `target` may be the head of the target alone
 * (its first bytes, at least all but the known suffix: the element API works the delta out before
 * it copies the 25 MB text); the result is then the same as with the whole target, or undefined
 * when the window would reach past the head. Never throws.
 */
export function windowDelta(base: Buffer, target: Buffer, change: { added: number; deleted: number }, baseLines?: number, knownSuffix = 0, targetLength = target.length): { delta: Buffer; lines: number } | undefined {
  // `target` may be the head of the text alone (its first bytes, at least all before the known suffix).
  const head = target.length;
  if (head > targetLength || head < targetLength - knownSuffix) return undefined;
  const shortest = Math.min(base.length, targetLength);
  const prefix = commonPrefixLength(base, 0, target, 0);
  if (prefix === base.length && prefix === targetLength) return undefined;
  // A head that matches the base to its end says nothing of what follows it.
  if (prefix >= head && head < targetLength) return undefined;
  // The window starts at a line start, and ends at one (after a `\n`) in both texts.
  const start = prefix === 0 ? 0 : base.lastIndexOf(10, prefix - 1) + 1;
  const suffix = commonSuffixLength(base, target, shortest - start, knownSuffix, targetLength);
  const tail = base.length - suffix;
  const grown = targetLength - base.length;
  // The suffix starts after a `\n` in both texts, or else after the first `\n` inside it.
  const endsLine = (e: number): boolean => (e === start || base[e - 1] === 10) && (e + grown === start || target[e + grown - 1] === 10);
  const endBase = endsLine(tail) ? tail : base.indexOf(10, tail) + 1;
  if (endBase === 0) return undefined;
  const endTarget = endBase + grown;
  if (endBase < start || endTarget < start || endTarget > head) return undefined;
  const removed = countNewlines(base, start, endBase);
  const inserted = countNewlines(target, start, endTarget);
  if (removed > change.deleted + 1 || inserted > change.added + 1 || removed + inserted === 0) return undefined;
  const before = countNewlines(base, 0, start);
  const after = baseLines !== undefined ? baseLines - before - removed : countNewlines(base, endBase, base.length) + 1;
  const ops = `${MAGIC}\n${before > 0 ? `= ${before}\n` : ''}${removed > 0 ? `- ${removed}\n` : ''}${inserted > 0 ? `+ ${inserted}\n` : ''}`;
  const size = Buffer.byteLength(ops) + (endTarget - start) + `= ${after}\n`.length;
  if (size * 2 >= targetLength) return undefined;
  return { delta: Buffer.concat([Buffer.from(ops), target.subarray(start, endTarget), Buffer.from(`= ${after}\n`)]), lines: before + inserted + after };
}
