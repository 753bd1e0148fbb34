/**
 * Reconcile step "read back": list the managed tables nft now holds and compare them with the
 * revision that was just applied. It runs after the transaction, so whatever it finds is data,
 * never an exception: the revision is in force either way, and the reconciler still confirms
 * and records it (a difference makes the agent Degraded, reason ReadbackMismatch).
 *
 * Read-back is on by default ('auto'): for a small ruleset it costs one short nft run (about
 * 10 ms for default.json), and it catches what nft accepts but loads differently (a key it
 * ignored, a value it rewrote). Above AUTO_FULL_MAX_ELEMENTS set elements 'auto' turns it off:
 * measured on nft 1.0.6, any listing in a namespace holding a 100,000-element set takes about
 * 0.55 s even terse (`-t`) or `list tables`, because nft fills its cache with every element
 * first; so 'structure' saves little, and read-back would double the apply time of exactly
 * the big blocklists that must update fast. 'structure' and 'full' remain available on request.
 * Each managed table is listed in its own nft process, all at once, and each output parsed once.
 * An element the revision declares with a timeout that has expired by the listing is not a
 * difference (shared/drift/expired-elements.ts): a slow listing must not make the agent Degraded.
 */
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { diffNormalised, normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { managedTables as declaredTables } from '../../shared/ruleset/ruleset-schema.js';
import { countElements } from '../../shared/ruleset/count-elements.js';
import { withExpiredElements } from '../../shared/drift/expired-elements.js';
import type { Ruleset, RulesetItem } from '../../shared/ruleset/ruleset-types.js';
import type { NftRunner } from '../../host/nft-runner.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** Read-back: compare everything, structure only (no set elements), nothing, or pick by size. */
export type VerifyMode = 'full' | 'structure' | 'off' | 'auto';

/** Above this many set elements in the ruleset, 'auto' skips the read-back (see above). */
export const AUTO_FULL_MAX_ELEMENTS = AGENT_DEFAULTS.drift.bigRulesetElements;

/** What the read-back found. */
export interface ReadBack {
  /** True when what nft lists matches, or when read-back was off (see `mode`). */
  ok: boolean;
  /** The mode actually used ('auto' resolved). */
  mode: 'full' | 'structure' | 'off';
  /** How nft's listing differs from the revision (empty when it matches or could not be listed). */
  differences: string[];
  durationMs: number;
  /**
   * Why `ok` is false: NFTSYNC_ERR_READBACK_MISMATCH (`data.differences`), or the listing's own
   * error (NFTSYNC_ERR_NFT_LIST, NFTSYNC_ERR_NFT_TIMEOUT, ...). Absent when `ok`.
   */
  error?: NftSyncError;
}

/** The mode 'auto' stands for with `ruleset`: 'full' up to AUTO_FULL_MAX_ELEMENTS set elements, else 'off'. */
export function resolveMode(mode: VerifyMode, ruleset: Ruleset): 'full' | 'structure' | 'off' {
  if (mode !== 'auto') return mode;
  return countElements(ruleset) > AUTO_FULL_MAX_ELEMENTS ? 'off' : 'full';
}

/**
 * Compare the tables `ruleset` declares, as nft lists them now, with `ruleset`. `loadedAt`
 * (performance.now()): when a full load of `ruleset` started, so an element with a longer timeout
 * than the time since cannot have expired, and its absence is a difference; without it (a delta
 * leaves elements loaded earlier), every expiring element the listing lacks counts as expired.
 * Never throws: a listing that fails or differs is reported in the result (see ReadBack.error).
 */
export async function readBack(nft: NftRunner, ruleset: Ruleset, verify: VerifyMode, options: { loadedAt?: number } = {}): Promise<ReadBack> {
  const started = performance.now();
  const mode = resolveMode(verify, ruleset);
  const managed = declaredTables(ruleset);
  const done = (differences: string[], error?: NftSyncError): ReadBack => ({
    ok: error === undefined,
    mode,
    differences,
    durationMs: Math.round(performance.now() - started),
    ...(error && { error }),
  });
  if (mode === 'off' || managed.length === 0) return done([]);
  const terse = mode === 'structure';
  let differences: string[];
  try {
    const listed = await Promise.all(managed.map((t) => nft.listTable(t.family, t.name, { terse })));
    const items: RulesetItem[] = [];
    for (const doc of listed) for (const item of doc.nftables) items.push(item);
    const want = normaliseRuleset(ruleset, managed, { elements: !terse });
    // An element the revision gives a timeout may have expired since the load: that is the revision, not a difference.
    const loadedMs = options.loadedAt === undefined ? undefined : performance.now() - options.loadedAt;
    const have = normaliseRuleset(terse ? { nftables: items } : withExpiredElements({ nftables: items }, ruleset, { loadedMs }), managed, { elements: !terse });
    differences = diffNormalised(want, have);
  } catch (err) {
    const e = toNftSyncError(err, 'NFTSYNC_ERR_NFT_LIST');
    return done([], new NftSyncError(e.code, `the ruleset was applied but could not be read back: ${e.message}`, { data: { ...e.data, managedTables: managed }, cause: e }));
  }
  if (differences.length === 0) return done([]);
  return done(
    differences,
    new NftSyncError('NFTSYNC_ERR_READBACK_MISMATCH', `the ruleset was applied but nft lists it differently (${differences.length} difference(s)), first: ${differences[0]}`, {
      data: { differences, managedTables: managed },
    }),
  );
}
