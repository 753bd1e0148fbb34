/**
 * The cost model that picks between a minimal transaction and the full replacement: estimated
 * seconds of `nft -j -f` on nft 1.0.6, from the figures measured on this kind of machine
 * (/work/shared/NFT-FACTS.md, medians, JSON input). Pure.
 *
 * | what | measured | per unit |
 * |---|---|---|
 * | load a hash set | 1,000,000 elements in 3.1–3.7 s | 3.5 µs per element |
 * | load an interval set | 100,000 prefixes in 0.92–0.95 s | 10 µs per element |
 * | load rules | 10,000 rules in 0.61–0.79 s (JSON) | 80 µs per rule |
 * | add/delete elements of a hash set | 1,000 + 1,000 on 1,000,000 in 10 ms | 10 µs per element (flat) |
 * | touch an interval set at all | "any change to a 100k interval set costs at least 2 s" | 20 µs per element held |
 * | delete from an interval set | 1,000 from 20,000 in 20 s; from 100,000 in 176–270 s | 2 µs × set size per deletion |
 *
 * So element deltas of hash sets (and maps) are almost free whatever their size, while an
 * interval set pays for its whole content as soon as it is touched (nft 1.0.6 loads it into its
 * cache to check overlaps) and pays size × deletions for deletes. Every estimate errs on the
 * side of the full replacement: the per-unit delta costs are the high end of what was measured
 * and the load costs the low end, so a delta is picked only when it is clearly cheaper, and the
 * result is never much slower than the full replacement it replaces.
 */

/** Seconds per element of a hash (non-interval) set or map loaded whole. */
export const LOAD_HASH_ELEMENT_S = 3.5e-6;
/** Seconds per element of an interval set or map loaded whole. */
export const LOAD_INTERVAL_ELEMENT_S = 10e-6;
/** Seconds per rule loaded (JSON input). */
export const LOAD_RULE_S = 80e-6;
/** Seconds per table, chain, set or named object declared (small, fixed). */
export const LOAD_OBJECT_S = 100e-6;
/** Seconds per element added to or deleted from a hash set or map that exists. */
export const DELTA_HASH_ELEMENT_S = 10e-6;
/** Seconds per element an interval set holds, paid once by any change to it. */
export const TOUCH_INTERVAL_ELEMENT_S = 20e-6;
/** Seconds per (element held × element deleted) of an interval set. */
export const DELETE_INTERVAL_S = 2e-6;

/** What a set holds and whether it is an interval set (rbtree or pipapo). */
export interface SetSize {
  interval: boolean;
  elements: number;
}

/** Estimated seconds to load a set whole (as part of a table or full replacement). */
export function loadSetCost(s: SetSize): number {
  return LOAD_OBJECT_S + s.elements * (s.interval ? LOAD_INTERVAL_ELEMENT_S : LOAD_HASH_ELEMENT_S);
}

/**
 * Estimated seconds to turn a set of `held` elements into its new content by deleting `deleted`
 * and adding `added` elements in place.
 */
export function elementDeltaCost(interval: boolean, held: number, added: number, deleted: number): number {
  if (added + deleted === 0) return 0;
  if (!interval) return (added + deleted) * DELTA_HASH_ELEMENT_S;
  return held * TOUCH_INTERVAL_ELEMENT_S + added * LOAD_INTERVAL_ELEMENT_S + held * deleted * DELETE_INTERVAL_S;
}

/**
 * Estimated seconds to empty a set of `held` elements (`flush set`) and load `elements` into it:
 * the refill used where deleting element by element is unsafe or dearer.
 */
export function refillCost(interval: boolean, held: number, elements: number): number {
  if (!interval) return held * DELTA_HASH_ELEMENT_S * 0.1 + elements * LOAD_HASH_ELEMENT_S;
  return held * TOUCH_INTERVAL_ELEMENT_S + elements * LOAD_INTERVAL_ELEMENT_S;
}

/** Estimated seconds to load `rules` rules. */
export function rulesCost(rules: number): number {
  return rules * LOAD_RULE_S;
}
