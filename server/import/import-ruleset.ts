/**
 * `nft-sync import`: an nft-syntax ruleset turned into the repository's JSON form by nft itself.
 * The text is loaded into a scratch network namespace (so nothing on the host changes), listed
 * with `nft -j list ruleset`, cleaned and ordered (shared/ruleset/listing-to-ruleset.ts) and validated
 * with the same parser agents use. Then the JSON form is loaded into a second scratch namespace
 * and both are listed as text: every line that differs (shared/ruleset/listing-loss.ts) is something
 * the JSON form cannot carry, named as a warning before anyone commits it. Listings that show a
 * set mid-resize (a key twice) are taken again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NftRunner } from '../../host/nft-runner.js';
import { buildApplyTransaction } from '../../shared/ruleset/apply-plan.js';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { describeLoss, listingLines, listingLosses, tornObjects } from '../../shared/ruleset/listing-loss.js';
import { listingToRuleset } from '../../shared/ruleset/listing-to-ruleset.js';
import { formatLocation } from '../../shared/nft/nft-error-location.js';
import { objectAtLine } from '../../shared/nft/nft-text-location.js';
import { diffNormalised, normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { managedTables, parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import { locateRefusal } from '../push/locate-refusal.js';
import { openScratchNetns, type ScratchNetns } from '../../host/scratch-netns.js';
import { READ_ATTEMPTS, listRulesetConsistently } from '../../host/scratch-read-back.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface ImportResult {
  /** The repository form, validated by parseRuleset. */
  ruleset: Ruleset;
  /** What would not come back as written when the JSON form is loaded, one line each. */
  warnings: string[];
}

/** Time limit per nft run: a minute, plus half a minute per MB of text (big sets list slowly). */
function timeoutFor(text: string): number {
  return SERVER_DEFAULTS.import.nftBaseMs + Math.ceil(text.length / 1e6) * SERVER_DEFAULTS.import.nftPerMegabyteMs;
}

/**
 * Import the nft-syntax ruleset `text` (`source` names it in nft's messages). Errors:
 * NFTSYNC_ERR_NETNS_UNAVAILABLE (not root, or no `ip netns`); NFTSYNC_ERR_NFT_APPLY (nft refuses
 * the text: the message names the object at the line nft points at, `data.display` keeps nft's
 * own lines, caret marker included, `data.line` and `data.object` where known);
 * NFTSYNC_ERR_NFT_LIST; NFTSYNC_ERR_RULESET_SCHEMA (nft lists it in a form the ruleset schema
 * does not accept); NFTSYNC_ERR_RULESET_NUMBER_INEXACT (a number above 2^53 that would not reach
 * the hosts as written; the pointer is into nft's JSON listing). Both scratch namespaces are
 * deleted on every path.
 */
export async function importRuleset(text: string, source = 'ruleset.nft'): Promise<ImportResult> {
  const timeout = timeoutFor(text);
  const scratch: ScratchNetns[] = [];
  try {
    const ns = await openScratchNetns('nft-sync-import', timeout);
    scratch.push(ns);
    await loadText(ns.nft, text, source);
    const originalText = await listText(ns.nft);
    // nft 1.0.6 prints a dormant table's flags in JSON as garbage (or cuts the output short).
    // The text listing above has the flag; wake the tables (`add table` clears it) so that the
    // JSON listing is whole. The JSON form cannot carry the flag anyway, and it is named below.
    const dormant = dormantTables(originalText);
    if (dormant.length > 0) await ns.nft.applyJson({ nftables: dormant.map((table) => ({ add: { table } })) });
    // The ruleset being imported: a number JavaScript would round is refused while its digits exist.
    const { listing, unverified } = await listRulesetConsistently(ns.nft, { checkText: true });
    if (unverified.length > 0) throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', `nft listed ${unverified.join(', ')} inconsistently ${READ_ATTEMPTS} times (a set the kernel was still rearranging); run the import again`);
    let ruleset: Ruleset;
    try {
      ruleset = parseRuleset(JSON.stringify(listingToRuleset(listing)));
    } catch (err) {
      const e = toNftSyncError(err);
      throw new NftSyncError(e.code, `nft lists the imported ruleset in a form nft-sync does not accept: ${e.message}`, { data: e.data, cause: err });
    }
    const again = await openScratchNetns('nft-sync-import', timeout);
    scratch.push(again);
    try {
      await again.nft.applyJson(JSON.stringify(buildApplyTransaction(ruleset, [])));
    } catch (err) {
      const e = toNftSyncError(err);
      if (e.code !== 'NFTSYNC_ERR_NFT_APPLY') throw e;
      // The refused load changed nothing: the second namespace is empty, fit for dry runs.
      const at = await locateRefusal(again.nft, ruleset, String(e.data?.stderr ?? '')).catch(() => undefined);
      const where = at === undefined ? '' : ` at ${formatLocation(at)}`;
      return { ruleset, warnings: [`the JSON form does not load back into nft, so agents could not apply it: nft refuses it${where}: ${e.message.replace(/^nft -j -f - failed \(exit \d+\): /, '')}`] };
    }
    const warnings = listingLosses(originalText, await listText(again.nft)).map((l) => `${describeLoss(l)} (nft's JSON form does not carry it)`);
    const back = await listRulesetConsistently(again.nft);
    const tables = managedTables(ruleset);
    for (const d of diffNormalised(normaliseRuleset(ruleset, tables), normaliseRuleset(back.listing, tables))) warnings.push(`agents would read it back differently: ${d}`);
    return { ruleset, warnings };
  } finally {
    for (const ns of scratch) await ns.close();
  }
}

/**
 * Load `text` with `nft -f`. A file, not stdin: nft 1.0.6 reads text from fd 0 at its current
 * offset, which the runner's unlinked input file leaves at the end (JSON input reopens
 * /dev/stdin instead). nft's message names the scratch copy; it is told as `source`.
 */
async function loadText(nft: NftRunner, text: string, source: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nft-sync-import-'));
  try {
    const file = join(dir, 'ruleset.nft');
    await writeFile(file, text, { mode: 0o600 });
    await nft.run(['-f', file], undefined, { errorCode: 'NFTSYNC_ERR_NFT_APPLY' }).catch((err: NftSyncError) => {
      throw refusedText(err, text, file, source);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * nft's refusal of the text: a one-line message naming the object at the first line nft points
 * at (`nft refuses rule 3 of chain inet filter input (in.nft line 14): Error: …`), and nft's
 * own lines, source line and caret marker included, in `data.display`.
 */
function refusedText(err: NftSyncError, text: string, file: string, source: string): NftSyncError {
  const display = String(err.data?.stderr ?? '').split(file).join(source).split('\n').filter((l) => l.trim() !== '').join('\n');
  const at = new RegExp(`^${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):[\\d-]+: (.*)$`, 'm').exec(display);
  const line = at ? Number(at[1]) : undefined;
  const object = line === undefined ? undefined : objectAtLine(text, line);
  const why = at ? at[2]! : err.message.split(file).join(source);
  const head = line === undefined ? `nft refuses ${source}` : `nft refuses ${object ?? 'the ruleset'} (${source} line ${line})`;
  return new NftSyncError(err.code, `${head}: ${why}`, { data: { ...err.data, display, line, object }, cause: err });
}

/** Tables of a text listing with the `dormant` flag, as `{family, name}`. */
function dormantTables(listing: string): Array<{ family: string; name: string }> {
  const out: Array<{ family: string; name: string }> = [];
  for (const [object, lines] of listingLines(listing)) {
    const m = /^table (\S+) (.+)$/.exec(object);
    if (m && lines.some((l) => /^flags (.*,)?dormant(,|$)/.test(l))) out.push({ family: m[1]!, name: m[2]! });
  }
  return out;
}

/** The text listing, taken again while a set in it lists an element twice. */
async function listText(nft: NftRunner): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const { stdout } = await nft.run(['list', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST' });
    if (tornObjects(stdout).length === 0 || attempt === READ_ATTEMPTS) return stdout;
    await new Promise((resolve) => setTimeout(resolve, SERVER_DEFAULTS.import.retryPauseMs * attempt));
  }
}
