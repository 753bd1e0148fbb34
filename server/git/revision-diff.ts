/**
 * The object-level diff between two revisions of the repository: which rulesets were added or
 * removed, and for each one present at both, the structured diff of its tables, chains, sets,
 * rules and elements (shared/ruleset/ruleset-diff.ts).
 */
import { NftSyncError } from '../../shared/errors.js';
import type { RevisionDiff } from '../../shared/http/http-api.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import { diffRulesets, isEmptyDiff } from '../../shared/ruleset/ruleset-diff.js';
import { parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import { ByteLru } from './byte-lru.js';
import type { RulesetRepository } from './ruleset-repository.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** Parsed rulesets by blob id: blobs never change, and a UI diffs the same few revisions often. */
export type ParsedRulesetCache = ByteLru<{ ruleset: Ruleset; size: number }>;

/**
 * A cache for diffRevisions, bounded by the rulesets' source size (`maxBytes`, default 16 MiB;
 * the parsed form takes a few times that).
 */
export function parsedRulesetCache(maxBytes = SERVER_DEFAULTS.repository.maxParsedDiffBytes): ParsedRulesetCache {
  return new ByteLru(maxBytes, (v) => v.size);
}

/** The answer of GET /api/v1/diff (its schema: shared/http/http-api.ts). */
export type { RevisionDiff } from '../../shared/http/http-api.js';

/**
 * Diff revision `from` against `to` (any refs), limited to `only` when given.
 * Errors: those of resolveRef and readRuleset; NFTSYNC_ERR_RULESET_NOT_FOUND when `only` is at
 * neither revision; NFTSYNC_ERR_RULESET_JSON / _SCHEMA when a stored ruleset does not parse.
 * `cache` keeps parsed rulesets between calls (by blob id).
 */
export async function diffRevisions(repo: RulesetRepository, from: string, to: string, only?: string, cache: ParsedRulesetCache = parsedRulesetCache()): Promise<RevisionDiff> {
  const parse = async (blob: string, bytes: Buffer) => (await cache.getOrLoad(blob, async () => ({ ruleset: parseRuleset(bytes), size: bytes.length }))).ruleset;
  if (only !== undefined) assertRulesetName(only);
  const [a, b] = await Promise.all([repo.resolveRef(from), repo.resolveRef(to)]);
  const [namesA, namesB] = await Promise.all([repo.listRulesets(a), repo.listRulesets(b)]);
  const setA = new Set(namesA.filter((n) => only === undefined || n === only));
  const setB = new Set(namesB.filter((n) => only === undefined || n === only));
  if (only !== undefined && setA.size === 0 && setB.size === 0) {
    throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `neither ${from} nor ${to} has rulesets/${only}.json`, { data: { ruleset: only, commit: b } });
  }
  const out: RevisionDiff = { from: { ref: from, commit: a }, to: { ref: to, commit: b }, rulesets: { added: [], removed: [], changed: [] } };
  for (const name of [...new Set([...setA, ...setB])].sort()) {
    if (!setA.has(name)) out.rulesets.added.push(name);
    else if (!setB.has(name)) out.rulesets.removed.push(name);
    else {
      const [x, y] = await Promise.all([repo.readRuleset(a, name), repo.readRuleset(b, name)]);
      if (x.blob === y.blob) continue;
      const diff = diffRulesets(await parse(x.blob, x.bytes), await parse(y.blob, y.bytes));
      out.rulesets.changed.push({ name, from: { blob: x.blob }, to: { blob: y.blob }, identical: isEmptyDiff(diff), diff });
    }
  }
  return out;
}
