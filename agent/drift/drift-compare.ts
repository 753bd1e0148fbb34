/**
 * The drift comparison: list the managed tables and compare them, normalised, with the revision
 * (shared/ruleset/ruleset-normalise.ts). Elements the revision declares with a timeout that the
 * kernel has expired are not drift (shared/drift/expired-elements.ts). With `elements: false` the
 * listing is terse (`nft -t`) and set elements are left out on both sides; nft still fills its
 * cache with every element first, so even that costs about 0.55 s per 100,000 elements: the
 * watcher does it only after an outside change to a big ruleset's structure, never on a timer.
 */
import { NftSyncError } from '../../shared/errors.js';
import { diffNormalised, normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import { withExpiredElements } from '../../shared/drift/expired-elements.js';
import type { RulesetItem, TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { NftRunner } from '../../host/nft-runner.js';

/**
 * The differences between the host's `managed` tables and the ruleset `bytes` (empty: none),
 * e.g. `rule added in inet nft_sync input: …`. A managed table that is gone contributes nothing
 * (its objects are reported missing). Errors: NFTSYNC_ERR_NFT_EXEC, NFTSYNC_ERR_NFT_TIMEOUT,
 * NFTSYNC_ERR_NFT_LIST (other than a missing table), NFTSYNC_ERR_RULESET_SCHEMA.
 */
export async function compareWithHost(nft: NftRunner, bytes: Buffer, managed: readonly TableRef[], options: { elements: boolean }): Promise<string[]> {
  const ruleset = parseRuleset(bytes);
  const items: RulesetItem[] = [];
  const listed = await Promise.all(
    managed.map((t) =>
      nft.listTable(t.family, t.name, { terse: !options.elements }).catch((err: unknown) => {
        // A table deleted by hand cannot be listed: it then contributes nothing.
        if (err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_NFT_LIST') return { nftables: [] };
        throw err;
      }),
    ),
  );
  for (const doc of listed) for (const item of doc.nftables) items.push(item);
  const want = normaliseRuleset(ruleset, managed, { elements: options.elements });
  // An element the revision declares with a timeout and the kernel has expired is not drift.
  const have = normaliseRuleset(withExpiredElements({ nftables: items }, ruleset), managed, { elements: options.elements });
  return diffNormalised(want, have);
}
