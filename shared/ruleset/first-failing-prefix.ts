/**
 * Bisection over prefixes: the shortest prefix of a list that fails a check, for finding the
 * item that makes nft refuse a ruleset by loading parts of it. The check is passed in (it runs
 * nft in a scratch namespace); this module only decides which prefixes to try.
 */

export interface PrefixSearch {
  /** Index of the last item of the shortest failing prefix found (its culprit). */
  index: number;
  /** The culprit is somewhere in [from, index]; equal to index when the search finished. */
  from: number;
  /** Checks run. */
  runs: number;
}

/**
 * Find the smallest k in [0, n) for which `fails(k)` (the prefix of items 0..k fails) is true,
 * assuming the whole list fails (`fails(n - 1)`, not run) and that a prefix of a failing prefix
 * may pass but an extension of one never does. At most `maxRuns` checks (about log2 n are
 * needed); when they run out, `from` < `index` brackets the culprit. Errors: whatever `fails`
 * throws. n must be at least 1.
 */
export async function firstFailingPrefix(n: number, fails: (k: number) => Promise<boolean>, maxRuns = 32): Promise<PrefixSearch> {
  let lo = 0;
  let hi = n - 1;
  let runs = 0;
  while (lo < hi && runs < maxRuns) {
    const mid = Math.floor((lo + hi) / 2);
    runs++;
    if (await fails(mid)) hi = mid;
    else lo = mid + 1;
  }
  return { index: hi, from: lo, runs };
}
