/**
 * Find the ruleset item nft refuses, in a scratch namespace, when nft's own message does not
 * say (shared/nft/nft-error-location.ts says when it does): dry runs (`nft -c`, nothing committed)
 * of prefixes of the ruleset in the order the apply transaction adds it, bisected.
 *
 * Sets are what make a dry run costly (a 1,000,000-element set takes seconds to load), and most
 * refusals are in the structure, so the structure is searched first with every set empty; only
 * when it loads are the sets' elements brought in, set by set, and then element by element
 * within the set at fault when it is small enough. Each step takes about log2 of its length in
 * runs, all of them under one cap.
 */
import type { NftRunner } from '../../host/nft-runner.js';
import { buildApplyTransaction } from '../../shared/ruleset/apply-plan.js';
import { toNftSyncError } from '../../shared/errors.js';
import { firstFailingPrefix } from '../../shared/ruleset/first-failing-prefix.js';
import { describePosition, locateNftError, type NftErrorLocation } from '../../shared/nft/nft-error-location.js';
import type { Ruleset, RulesetItem, TableRef } from '../../shared/ruleset/ruleset-types.js';
import { itemBody, itemKind } from '../../shared/ruleset/ruleset-items.js';
import { applyOrder } from '../../shared/nft/transaction-origins.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface LocatedRefusal extends NftErrorLocation {
  /** 'nft': from nft's message; 'bisect': found by dry runs (`runs` of them). */
  how: 'nft' | 'bisect';
  runs: number;
  /** When the run cap stopped the search early: the culprit is this item or one before it, down to `fromWhat`. */
  fromWhat?: string;
}

/** Dry runs one search may make. */
export const MAX_DRY_RUNS = SERVER_DEFAULTS.pushChecks.maxDryRuns;
/** Above this many elements, the set at fault is named without searching for the element. */
export const ELEMENT_SEARCH_MAX = SERVER_DEFAULTS.pushChecks.elementSearchMax;

function withoutElements(item: RulesetItem): RulesetItem {
  const kind = itemKind(item);
  if (kind !== 'set' && kind !== 'map') return item;
  const { elem: _e, ...body } = itemBody(item);
  return { [kind]: body } as RulesetItem;
}

function hasElements(item: RulesetItem): boolean {
  const e = itemBody(item).elem;
  return Array.isArray(e) && e.length > 0;
}

/**
 * Locate what makes nft refuse `ruleset`, given nft's error output `stderr` for
 * `buildApplyTransaction(ruleset, previouslyManaged)`. When the message does not say, `nft` must
 * be a scratch namespace with none of the ruleset's tables in it (dry runs only; nothing is
 * committed). Undefined when the ruleset has nothing to search. Errors: NFTSYNC_ERR_NFT_EXEC and
 * NFTSYNC_ERR_TIMEOUT from nft (a refusal is a result, not an error).
 */
export async function locateRefusal(nft: NftRunner, ruleset: Ruleset, stderr: string, previouslyManaged: readonly TableRef[] = []): Promise<LocatedRefusal | undefined> {
  const said = locateNftError(stderr, ruleset, previouslyManaged);
  if (said !== undefined) return { ...said, how: 'nft', runs: 0 };
  const order = applyOrder(ruleset);
  if (order.length === 0) return undefined;
  let runs = 0;
  const refused = async (items: RulesetItem[]): Promise<boolean> => {
    runs++;
    try {
      await nft.checkJson(JSON.stringify(buildApplyTransaction({ nftables: items }, [])));
      return false;
    } catch (err) {
      if (toNftSyncError(err).code === 'NFTSYNC_ERR_NFT_CHECK') return true;
      throw err;
    }
  };
  const item = (i: number): RulesetItem => ruleset.nftables[i]!;
  const structure = order.filter((i) => itemKind(item(i)) !== 'element');
  const bare = structure.map((i) => withoutElements(item(i)));
  const done = (s: { index: number; from: number }, list: number[], extra: { element?: number } = {}): LocatedRefusal => {
    const at = describePosition(ruleset, { index: list[s.index]!, ...extra });
    const from = s.from < s.index ? describePosition(ruleset, { index: list[s.from]! }).what : undefined;
    return { ...at, how: 'bisect', runs, ...(from === undefined ? {} : { fromWhat: from }) };
  };

  // 1. The structure alone, every set empty.
  if (await refused(bare)) {
    const s = await firstFailingPrefix(bare.length, (k) => refused(bare.slice(0, k + 1)), MAX_DRY_RUNS - runs);
    return done(s, structure);
  }
  // 2. Then the elements, set by set (element items count as their own step).
  const carriers = order.filter((i) => hasElements(item(i)));
  if (carriers.length === 0 || runs >= MAX_DRY_RUNS) return undefined;
  // The ruleset with the elements of carriers 0..k (the k-th replaced by `last` when given).
  const withSets = (k: number, last?: RulesetItem): RulesetItem[] => {
    const full = new Set(carriers.slice(0, k + 1));
    const out: RulesetItem[] = [];
    for (const i of order) {
      if (!full.has(i)) {
        if (itemKind(item(i)) !== 'element') out.push(withoutElements(item(i)));
      } else out.push(i === carriers[k] && last !== undefined ? last : item(i));
    }
    return out;
  };
  const s = await firstFailingPrefix(carriers.length, (k) => refused(withSets(k)), MAX_DRY_RUNS - runs);
  const culprit = item(carriers[s.index]!);
  const kind = itemKind(culprit);
  const elem = itemBody(culprit).elem as unknown[];
  if (s.from < s.index || (kind !== 'set' && kind !== 'map') || elem.length > ELEMENT_SEARCH_MAX || runs >= MAX_DRY_RUNS) return done(s, carriers);
  // 3. Element by element within the set at fault.
  const part = (j: number): RulesetItem => ({ [kind]: { ...itemBody(culprit), elem: elem.slice(0, j + 1) } }) as RulesetItem;
  const e = await firstFailingPrefix(elem.length, (j) => refused(withSets(s.index, part(j))), MAX_DRY_RUNS - runs);
  if (e.from < e.index) return done(s, carriers);
  return done(s, carriers, { element: e.index });
}
