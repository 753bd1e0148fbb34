/**
 * `nft-sync import`: an nft-syntax ruleset turned into the repository's JSON form by nft itself.
 * The text is loaded into a scratch network namespace (so nothing on the host changes), listed
 * with `nft -j list ruleset`, cleaned and ordered (shared/listing-to-ruleset.ts) and validated
 * with the same parser agents use. Then the JSON form is loaded back into the emptied namespace
 * and listed again: what nft 1.0.6 cannot carry through JSON (see NFT-FACTS.md) is reported as
 * a warning naming the object, before anyone commits it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApplyTransaction } from '../shared/apply-plan.js';
import { NftSyncError, toNftSyncError } from '../shared/errors.js';
import { listingToRuleset } from '../shared/listing-to-ruleset.js';
import { objectCommentsInListing } from '../shared/nft-text-comments.js';
import { lostOnReload } from '../shared/push-checks.js';
import { diffNormalised, normaliseRuleset } from '../shared/ruleset-normalise.js';
import { checkRulesetText, managedTables, parseRuleset } from '../shared/ruleset-schema.js';
import type { Ruleset } from '../shared/ruleset-types.js';
import { openScratchNetns } from './scratch-netns.js';

export interface ImportResult {
  /** The repository form, validated by parseRuleset. */
  ruleset: Ruleset;
  /** Objects that would not come back as written when the JSON form is loaded. */
  warnings: string[];
}

/**
 * Import the nft-syntax ruleset `text` (`source` names it in nft's messages). Errors: NFTSYNC_ERR_NETNS_UNAVAILABLE (not root, or no
 * `ip netns`); NFTSYNC_ERR_NFT_APPLY (nft refuses the text; its message is kept);
 * NFTSYNC_ERR_NFT_LIST; NFTSYNC_ERR_RULESET_SCHEMA (nft lists it in a form the ruleset schema
 * does not accept); NFTSYNC_ERR_RULESET_NUMBER_INEXACT (a number above 2^53 that would not reach
 * the hosts as written; the pointer is into nft's JSON listing). The scratch namespace is deleted on every path.
 */
export async function importRuleset(text: string, source = 'ruleset.nft'): Promise<ImportResult> {
  const ns = await openScratchNetns('nft-sync-import');
  try {
    // A file, not stdin: nft 1.0.6 reads text from fd 0 at its current offset, which the
    // runner's unlinked input file leaves at the end (JSON input reopens /dev/stdin instead).
    const dir = await mkdtemp(join(tmpdir(), 'nft-sync-import-'));
    try {
      const file = join(dir, 'ruleset.nft');
      await writeFile(file, text, { mode: 0o600 });
      await ns.nft.run(['-f', file], undefined, { errorCode: 'NFTSYNC_ERR_NFT_APPLY' }).catch((err: NftSyncError) => {
        // nft's message names the scratch copy; the operator knows the file by `source`.
        throw new NftSyncError(err.code, err.message.split(file).join(source), { data: err.data, cause: err });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const listing = await listRuleset(ns.nft.run, true);
    const listedText = (await ns.nft.run(['list', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST' })).stdout;
    const warnings = commentsNotInJson(listedText, listing);
    let ruleset: Ruleset;
    try {
      ruleset = parseRuleset(JSON.stringify(listingToRuleset(listing)));
    } catch (err) {
      const e = toNftSyncError(err);
      throw new NftSyncError(e.code, `nft lists the imported ruleset in a form nft-sync does not accept: ${e.message}`, { data: e.data, cause: err });
    }
    await ns.nft.run(['flush', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_APPLY' });
    try {
      await ns.nft.applyJson(JSON.stringify(buildApplyTransaction(ruleset, [])));
    } catch (err) {
      warnings.push(`the JSON form does not load back into nft, so agents could not apply it: ${toNftSyncError(err).message}`);
      return { ruleset, warnings };
    }
    const back = await listRuleset(ns.nft.run);
    const tables = managedTables(ruleset);
    for (const d of diffNormalised(normaliseRuleset(ruleset, tables), normaliseRuleset(back, tables))) warnings.push(`does not survive a reload: ${d}`);
    warnings.push(...lostOnReload(listing, back));
    return { ruleset, warnings };
  } finally {
    await ns.close();
  }
}

/** Object comments the text listing shows but the JSON listing lacks (nft 1.0.6 drops them). */
function commentsNotInJson(text: string, listing: Ruleset): string[] {
  const inJson = new Set<string>();
  for (const item of listing.nftables) {
    const [kind, body] = Object.entries(item)[0] as [string, Record<string, unknown>];
    if (typeof body.comment !== 'string') continue;
    inJson.add(kind === 'table' ? `table ${String(body.family)} ${String(body.name)}` : `${kind} ${String(body.family)} ${String(body.table)} ${String(body.name)}`);
  }
  return objectCommentsInListing(text)
    .filter((c) => !inJson.has(c.object))
    .map((c) => `${c.object}: comment ${JSON.stringify(c.comment)} would be lost (nft's JSON form does not carry it)`);
}

async function listRuleset(run: (args: string[], input?: string, o?: { errorCode: 'NFTSYNC_ERR_NFT_LIST' }) => Promise<{ stdout: string }>, checkText = false): Promise<Ruleset> {
  const { stdout } = await run(['-j', 'list', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST' });
  // The ruleset being imported: a number JavaScript would round is refused while its digits exist.
  if (checkText) checkRulesetText(stdout);
  try {
    return JSON.parse(stdout) as Ruleset;
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', 'nft -j list ruleset printed something that is not JSON', { cause });
  }
}
