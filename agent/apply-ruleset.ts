/**
 * The agent's apply step: put a parsed ruleset in force with one atomic nft transaction, then
 * read the managed tables back and compare them with what was declared.
 *
 * Cost is kept close to a bare `nft -j -f`: the batch is serialised once and fed on stdin; the
 * dry run (`nft -c`, as costly as a real load on nft 1.0.6) is off unless asked for, since the
 * real apply is atomic anyway and refuses exactly what the dry run would; the read-back lists
 * each managed table in its own nft process, all at once, and parses each output once.
 *
 * Read-back is on by default ('auto'): for a small ruleset it costs one short nft run (about
 * 10 ms for default.json), and it catches what nft accepts but loads differently (a key it
 * ignored, a value it rewrote). Above AUTO_FULL_MAX_ELEMENTS set elements 'auto' turns it off:
 * measured on nft 1.0.6, any listing in a namespace holding a 100,000-element set takes about
 * 0.55 s even terse (`-t`) or `list tables`, because nft fills its cache with every element
 * first; so 'structure' saves little, and read-back would double the apply time of exactly
 * the big blocklists that must update fast. 'structure' and 'full' remain available on request.
 */
import { buildApplyTransaction, tablesToCreate } from '../shared/ruleset/apply-plan.js';
import { NftSyncError } from '../shared/errors.js';
import { locateNftError } from '../shared/nft/nft-error-location.js';
import { diffNormalised, normaliseRuleset } from '../shared/ruleset/ruleset-normalise.js';
import { managedTables as declaredTables } from '../shared/ruleset/ruleset-schema.js';
import { countElements } from '../shared/ruleset/count-elements.js';
import type { Ruleset, RulesetItem, TableRef } from '../shared/ruleset/ruleset-types.js';
import type { TablePattern } from '../shared/ruleset/table-pattern.js';
import { ownedWithAdopted, tablesNotOwnedError } from './claim-tables.js';
import type { NftRunner } from '../host/nft-runner.js';

/** Read-back: compare everything, structure only (no set elements), nothing, or pick by size. */
export type VerifyMode = 'full' | 'structure' | 'off' | 'auto';

/** Above this many set elements in the ruleset, 'auto' skips the read-back (see above). */
export const AUTO_FULL_MAX_ELEMENTS = 20_000;

export interface ApplyRulesetOptions {
  nft: NftRunner;
  ruleset: Ruleset;
  /**
   * Tables the agent owns (the previous revision's, and any a pending mark names): declared ones
   * are replaced, the others deleted. A declared table not owned is created, and the transaction
   * fails if it exists (NFTSYNC_ERR_TABLE_NOT_OWNED).
   */
  previouslyManaged?: readonly TableRef[];
  /** Tables that exist and may be replaced all the same (--adopt-tables). */
  adopt?: readonly TablePattern[];
  /** Dry-run the transaction with `nft -c` before applying it (default false). */
  check?: boolean;
  /** Read-back verification (default 'auto': 'full' up to AUTO_FULL_MAX_ELEMENTS set elements, else 'off'). */
  verify?: VerifyMode;
}

export interface ApplyRulesetResult {
  /** The tables this ruleset manages: record them for the next apply's `previouslyManaged`. */
  managedTables: TableRef[];
  /** Wall time of the whole step, read-back included. */
  durationMs: number;
  readback: {
    /** True when the read-back matched, or when it was off (see `mode`). */
    ok: boolean;
    /** The mode actually used ('auto' resolved). */
    mode: 'full' | 'structure' | 'off';
    differences: string[];
    durationMs: number;
  };
}

/**
 * Apply `ruleset` atomically: every table it declares that the agent owns (or adopts) is
 * replaced, every other table it declares is created, every table of `previouslyManaged` it no
 * longer declares is deleted, all other tables are left untouched. Then verify by read-back
 * unless `verify` is 'off'.
 * Errors: NFTSYNC_ERR_TABLE_NOT_OWNED (a declared table the agent does not own exists: nft
 * refused the batch with EEXIST, nothing changed; the tables are listed once to name it),
 * NFTSYNC_ERR_NFT_CHECK (dry run refused; nothing changed), NFTSYNC_ERR_NFT_APPLY (nft
 * refused the batch; nothing changed; the message and `data.pointer` name the object at fault
 * when nft's message allows), NFTSYNC_ERR_NFT_EXEC / NFTSYNC_ERR_TIMEOUT (nft could not
 * run), NFTSYNC_ERR_NFT_LIST (read-back listing failed; the transaction DID happen), and
 * NFTSYNC_ERR_READBACK_MISMATCH (the transaction DID happen but what nft lists differs;
 * `data.differences` lists how, `data.managedTables` what is now managed: the caller decides
 * whether to roll back).
 */
export async function applyRuleset(options: ApplyRulesetOptions): Promise<ApplyRulesetResult> {
  const started = performance.now();
  const { nft, ruleset } = options;
  const managed = declaredTables(ruleset);
  const owned = ownedWithAdopted(managed, options.previouslyManaged ?? [], options.adopt ?? []);
  const batch = JSON.stringify(buildApplyTransaction(ruleset, owned));

  try {
    if (options.check === true) await nft.checkJson(batch);
    await nft.applyJson(batch);
  } catch (err) {
    const taken = await nameTakenTables(err, nft, tablesToCreate(managed, owned));
    throw taken === err ? withLocation(err, ruleset, owned) : taken;
  }

  const readStarted = performance.now();
  const mode = resolveMode(options.verify ?? 'auto', ruleset);
  let differences: string[] = [];
  if (mode !== 'off' && managed.length > 0) {
    const terse = mode === 'structure';
    const listed = await Promise.all(managed.map((t) => nft.listTable(t.family, t.name, { terse })));
    const items: RulesetItem[] = [];
    for (const doc of listed) for (const item of doc.nftables) items.push(item);
    const want = normaliseRuleset(ruleset, managed, { elements: !terse });
    const have = normaliseRuleset({ nftables: items }, managed, { elements: !terse });
    differences = diffNormalised(want, have);
  }
  const now = performance.now();
  const result: ApplyRulesetResult = {
    managedTables: managed,
    durationMs: Math.round(now - started),
    readback: { ok: differences.length === 0, mode, differences, durationMs: Math.round(now - readStarted) },
  };
  if (differences.length > 0) {
    throw new NftSyncError(
      'NFTSYNC_ERR_READBACK_MISMATCH',
      `the ruleset was applied but nft lists it differently (${differences.length} difference(s)), first: ${differences[0]}`,
      { data: { differences, managedTables: managed, durationMs: result.durationMs } },
    );
  }
  return result;
}

/**
 * When nft refused a batch that creates `created` with EEXIST, the error naming which of them
 * exist (one listing); otherwise `err` itself.
 */
async function nameTakenTables(err: unknown, nft: NftRunner, created: readonly TableRef[]): Promise<unknown> {
  if (!(err instanceof NftSyncError) || created.length === 0) return err;
  if (!/File exists/.test(`${err.message} ${String(err.data?.stderr ?? '')}`)) return err;
  let present: Set<string>;
  try {
    present = new Set((await nft.listTables()).map((t) => `${t.family} ${t.name}`));
  } catch {
    return err;
  }
  const taken = created.filter((t) => present.has(`${t.family} ${t.name}`));
  return taken.length > 0 ? tablesNotOwnedError(taken) : err;
}

/**
 * nft's refusal, with the object at fault named where nft's message allows it cheaply (no
 * bisection on a host: see shared/nft/nft-error-location.ts): `… (at rule 3 of chain inet filter
 * input, /nftables/17)`, and `data.pointer` / `data.object`.
 */
function withLocation(err: unknown, ruleset: Ruleset, previous: readonly TableRef[]): unknown {
  if (!(err instanceof NftSyncError) || (err.code !== 'NFTSYNC_ERR_NFT_APPLY' && err.code !== 'NFTSYNC_ERR_NFT_CHECK')) return err;
  const at = locateNftError(String(err.data?.stderr ?? ''), ruleset, previous);
  if (at === undefined) return err;
  return new NftSyncError(err.code, `${err.message} (at ${at.what}, ${at.pointer})`, { data: { ...err.data, pointer: at.pointer, object: at.what }, cause: err });
}

function resolveMode(mode: VerifyMode, ruleset: Ruleset): 'full' | 'structure' | 'off' {
  if (mode !== 'auto') return mode;
  return countElements(ruleset) > AUTO_FULL_MAX_ELEMENTS ? 'off' : 'full';
}
