/**
 * The pure half of push-time validation: reading git's pre-receive input, deciding which files
 * of a pushed commit to check, and checking them (ruleset JSON and schema, nft-sync.yaml and the
 * rulesets it names, what nft would lose on reload). The IO half (git plumbing, the scratch
 * namespace) is server/push/push-validator.ts.
 */
import { NftSyncError, toNftSyncError } from '../errors.js';
import { assertRulesetName } from '../ruleset/names.js';
import { parseRepoConfig, rulesetsNamedBy, REPO_CONFIG_PATH } from '../config/repo-config.js';
import { parseRuleset } from '../ruleset/ruleset-schema.js';
import type { Ruleset } from '../ruleset/ruleset-types.js';
import { itemBody, itemKind } from '../ruleset/ruleset-items.js';
import { composeRulesetText } from '../ruleset/compose-ruleset.js';
import type { RulesetFiles } from './ruleset-files.js';

/** One line of pre-receive input: `old new ref`. */
export interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

/** A file of a pushed commit that failed a check. */
export interface PushProblem {
  /** `rulesets/web.json`, `nft-sync.yaml`. */
  path: string;
  /** The blob id (undefined when the file is missing). */
  blob?: string;
  code: string;
  message: string;
  /** JSON pointer of the object at fault inside the file, when known (e.g. `/nftables/17`). */
  pointer?: string;
}

/** True for git's all-zero object id (a created or deleted ref). */
export function isZeroId(id: string): boolean {
  return /^0+$/.test(id);
}

/**
 * Parse pre-receive stdin (`<old> <new> <ref>` per line). Throws NFTSYNC_ERR_USAGE on a line of
 * another shape: the hook was run by something other than git.
 */
export function parseRefUpdates(text: string): RefUpdate[] {
  const out: RefUpdate[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/.exec(line.trim());
    if (!m) throw new NftSyncError('NFTSYNC_ERR_USAGE', `pre-receive input line is not "<old> <new> <ref>": ${JSON.stringify(line.slice(0, 200))}`);
    out.push({ old: m[1]!, new: m[2]!, ref: m[3]! });
  }
  return out;
}

/** The ruleset name of a tree path `rulesets/NAME.json`, else undefined. */
export function rulesetNameOfPath(path: string): string | undefined {
  const m = /^rulesets\/([^/]+)\.json$/.exec(path);
  return m ? m[1] : undefined;
}

/**
 * Check one ruleset file. Returns the parsed ruleset, or a problem: NFTSYNC_ERR_RULESET_NAME_INVALID
 * (a file agents could never ask for), NFTSYNC_ERR_RULESET_JSON (with line and column),
 * NFTSYNC_ERR_RULESET_SCHEMA (with the JSON pointer). Never throws.
 */
export function checkRulesetFile(path: string, blob: string, bytes: Buffer): { ruleset: Ruleset } | { problem: PushProblem } {
  try {
    assertRulesetName(rulesetNameOfPath(path) ?? path);
    return { ruleset: parseRuleset(bytes) };
  } catch (err) {
    const e = toNftSyncError(err);
    const p = e.data?.pointer;
    const pointer = typeof p === 'string' && !e.message.includes(p) ? ` (at ${p})` : '';
    return { problem: { path, blob, code: e.code, message: `${e.message}${pointer}` } };
  }
}

/**
 * Check a ruleset stored as a base and element change files (shared/push/ruleset-files.ts):
 * the base as checkRulesetFile does, each change file's format, the composed ruleset (every
 * change file's set declared in the base, every element fitting its set), and the composed
 * text as agents will receive it. `bytes` holds each file's bytes by blob id. Returns the
 * composed ruleset, or the problem of the file at fault (its path and blob id). Never throws.
 */
export function checkComposedRuleset(files: RulesetFiles, bytes: ReadonlyMap<string, Buffer>): { ruleset: Ruleset } | { problem: PushProblem } {
  if (files.changes.length === 0) return checkRulesetFile(files.base.path, files.base.blob, bytes.get(files.base.blob)!);
  try {
    assertRulesetName(files.name);
    const composed = composeRulesetText({ path: files.base.path, bytes: bytes.get(files.base.blob)! }, files.changes.map((c) => ({ path: c.path, bytes: bytes.get(c.blob)! })));
    return { ruleset: parseRuleset(composed) };
  } catch (err) {
    const e = toNftSyncError(err);
    const path = typeof e.data?.path === 'string' ? e.data.path : files.base.path;
    const blob = [files.base, ...files.changes].find((f) => f.path === path)?.blob;
    const p = e.data?.pointer;
    const pointer = typeof p === 'string' && !e.message.includes(p) ? ` (at ${p})` : '';
    return { problem: { path, ...(blob === undefined ? {} : { blob }), code: e.code, message: `${e.message}${pointer}` } };
  }
}

/**
 * Check `nft-sync.yaml` (undefined: absent, which means every agent gets `default`) against the
 * rulesets a commit has: the file must parse and every ruleset it can hand out (`default`
 * included) must exist. A ruleset the file names but the commit lacks is a problem of
 * `nft-sync.yaml` (path and blob id of the YAML file); a missing `default` with no YAML file is
 * a problem of `rulesets/default.json` (no blob). Returns the problems found (empty when fine).
 * Never throws.
 */
export function checkRepoConfigFile(yaml: { blob: string; text: string } | undefined, rulesets: ReadonlySet<string>): PushProblem[] {
  let config;
  try {
    config = yaml === undefined ? undefined : parseRepoConfig(yaml.text);
  } catch (err) {
    const e = toNftSyncError(err);
    return [{ path: REPO_CONFIG_PATH, blob: yaml?.blob, code: e.code, message: e.message }];
  }
  const out: PushProblem[] = [];
  for (const name of rulesetsNamedBy(config)) {
    if (rulesets.has(name)) continue;
    // The file at fault is the mapping (its blob id goes with it); without one, the missing
    // ruleset itself (no blob: it is not there).
    if (yaml === undefined) {
      out.push({ path: `rulesets/${name}.json`, code: 'NFTSYNC_ERR_RULESET_NOT_FOUND', message: `agents get the default ruleset, but rulesets/${name}.json is not in the commit: add it, or add ${REPO_CONFIG_PATH} mapping agents to rulesets that exist` });
    } else {
      out.push({ path: REPO_CONFIG_PATH, blob: yaml.blob, code: 'NFTSYNC_ERR_RULESET_NOT_FOUND', message: `${REPO_CONFIG_PATH} names ruleset ${JSON.stringify(name)}, but rulesets/${name}.json is not in the commit: add it or fix ${REPO_CONFIG_PATH}` });
    }
  }
  return out;
}

/** Attributes nft 1.0.6 drops on reload, by object kind (see NFT-FACTS.md). */
const LOSSY: Record<string, string[]> = { table: ['comment', 'flags'], chain: ['comment'], set: ['comment', 'flags', 'auto-merge'], map: ['comment', 'flags', 'auto-merge'] };

/**
 * What the agent's read-back tolerates but the operator should still hear about: attributes
 * declared in `declared` (comments, the `dynamic` and `dormant` flags, `auto-merge`) that
 * `listed` (the same ruleset loaded and listed back) does not carry. One line per object and
 * attribute, e.g. `chain inet filter input: comment would be lost on the hosts`. Pure.
 */
export function lostOnReload(declared: Ruleset, listed: Ruleset): string[] {
  const key = (kind: string, b: Record<string, unknown>): string =>
    kind === 'table' ? `table ${String(b.family)} ${String(b.name)}` : `${kind} ${String(b.family)} ${String(b.table)} ${String(b.name)}`;
  const have = new Map<string, Record<string, unknown>>();
  for (const item of listed.nftables) {
    const kind = itemKind(item);
    if (LOSSY[kind]) have.set(key(kind, itemBody(item)), itemBody(item));
  }
  const out: string[] = [];
  for (const item of declared.nftables) {
    const kind = itemKind(item);
    const attrs = LOSSY[kind];
    if (!attrs) continue;
    const body = itemBody(item);
    const back = have.get(key(kind, body));
    if (back === undefined) continue; // a missing object is a difference the read-back reports
    for (const a of attrs) {
      if (body[a] === undefined) continue;
      if (JSON.stringify(body[a]) !== JSON.stringify(back[a])) out.push(`${key(kind, body)}: ${a} ${JSON.stringify(body[a])} would be lost on the hosts (nft lists ${back[a] === undefined ? 'none' : JSON.stringify(back[a])})`);
    }
  }
  return out;
}
