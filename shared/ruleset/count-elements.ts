import type { Ruleset } from './ruleset-types.js';
import { itemBody } from './ruleset-items.js';

/**
 * Number of set and map elements declared in a ruleset (the size that sets nft's time limits
 * and the agent's read-back mode). Pure; counts only elements written inline in `elem`.
 */
export function countElements(ruleset: Ruleset): number {
  let n = 0;
  for (const item of ruleset.nftables) {
    const elem = itemBody(item).elem;
    if (Array.isArray(elem)) n += elem.length;
  }
  return n;
}
