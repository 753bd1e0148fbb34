/**
 * How far two byte ranges agree, found with native comparisons. Pure.
 *
 * The ruleset delta encoder skips the long equal runs of the base and the target this way:
 * chunks growing from 256 bytes are compared (memcmp) until one differs, then that chunk is
 * halved down to 64 bytes, then bytes are compared one by one. About 15 native calls per
 * difference; the bytes compared are at most twice the equal run plus 256 (linear).
 */

const FIRST_CHUNK = 256;
const LAST_CHUNK = 64;
/** Bytes compared in JavaScript before the first native call: a difference right away is common (the encoder calls this at each resync). */
const QUICK = 16;

/**
 * The number of bytes that `a` from `aFrom` and `b` from `bFrom` have in common before the first
 * that differs or the end of either. Both offsets must lie within their buffer (or at its end).
 * Never throws for such offsets.
 */
export function commonPrefixLength(a: Buffer, aFrom: number, b: Buffer, bFrom: number): number {
  const max = Math.min(a.length - aFrom, b.length - bFrom);
  const quick = Math.min(max, QUICK);
  let n = 0;
  while (n < quick && a[aFrom + n] === b[bFrom + n]) n++;
  if (n < quick || n === max) return n;
  let chunk = FIRST_CHUNK;
  for (;;) {
    const hi = Math.min(max, n + chunk);
    if (a.compare(b, bFrom + n, bFrom + hi, aFrom + n, aFrom + hi) !== 0) {
      let lo = n;
      let up = hi; // [aFrom + lo, ...) agrees up to a difference before up
      while (up - lo > LAST_CHUNK) {
        const mid = lo + ((up - lo) >>> 1);
        if (a.compare(b, bFrom + lo, bFrom + mid, aFrom + lo, aFrom + mid) === 0) lo = mid;
        else up = mid;
      }
      while (a[aFrom + lo] === b[bFrom + lo]) lo++;
      return lo;
    }
    n = hi;
    if (n === max) return n;
    chunk *= 2;
  }
}
