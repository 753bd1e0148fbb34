/**
 * Push-time validation: what the pre-receive hook runs, once per push, before git moves any ref.
 *
 * For every branch or tag the push creates or moves, the new commit's `nft-sync.yaml` and its
 * changed rulesets (all of them for a new ref) are read through ONE `git cat-file
 * --batch` process for the whole push (commits, trees and blobs; the trees compared here as
 * `ls-tree` and `diff-tree` would), so git's quarantine variables (GIT_OBJECT_DIRECTORY,
 * GIT_ALTERNATE_OBJECT_DIRECTORIES) are honoured and the pushed objects are visible before they
 * are accepted, and a push pays one git start, not five per ref. Each distinct blob is checked
 * once whatever number of refs carry it. A ruleset is `rulesets/NAME.json` with its element change
 * files `rulesets/NAME.elements/NNNNNN.json` applied (shared/push/ruleset-files.ts): it is judged
 * when either changed, composed, as agents will receive it; a stray file in the change
 * directory, or change files without a base, refuse the push. Checks: JSON, schema
 * (shared/push/push-checks.ts), then, where a scratch namespace can be
 * made, loaded into it with the agent's own transaction and listed back (the load replaces an
 * `nft -c`, which costs as much on nft 1.0.6): a refused load, or a read-back that differs with
 * the tolerance the agent uses, refuses the push naming the object; what the agent tolerates
 * (comments, lossy flags) is a warning, and so is a table name that a well-known tool uses
 * (shared/ruleset/well-known-tables.ts). One namespace; all rulesets of the push are loaded
 * side by side in one transaction and listed once (their tables renamed apart), and only when
 * that combined load is refused are they loaded one by one to find the culprit.
 *
 * Imports the agent's nft runner and normaliser on purpose: the validator must judge a ruleset
 * exactly as the hosts will.
 */
import { countElements } from '../../shared/ruleset/count-elements.js';
import { buildApplyTransaction } from '../../shared/ruleset/apply-plan.js';
import { toNftSyncError } from '../../shared/errors.js';
import { checkComposedRuleset, checkRepoConfigFile, isZeroId, lostOnReload, rulesetNameOfPath, type PushProblem, type RefUpdate } from '../../shared/push/push-checks.js';
import { REPO_CONFIG_PATH } from '../../shared/config/repo-config.js';
import { rulesetFilesOf, type RulesetFiles } from '../../shared/push/ruleset-files.js';
import { diffNormalised, normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { managedTables } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, RulesetItem, TableRef } from '../../shared/ruleset/ruleset-types.js';
import { renameTables, tableOfItem } from '../../shared/ruleset/table-rename.js';
import { wellKnownTableWarnings } from '../../shared/ruleset/well-known-tables.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { parseCommit, parseTree } from '../../shared/git/git-objects.js';
import { GitObjectBatch } from './git-object-batch.js';
import { openScratchNetns, type ScratchNetns } from '../../host/scratch-netns.js';
import { READ_ATTEMPTS, readBackScratch } from '../../host/scratch-read-back.js';
import { locateRefusal, type LocatedRefusal } from './locate-refusal.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface PushValidatorOptions {
  /** The repository's git directory. */
  gitdir: string;
  /** Git's quarantine variables from the hook's environment, passed to every git run. */
  gitEnv?: Record<string, string>;
  /** Load and read back in a scratch namespace: 'auto' when possible (root), 'off' never. */
  nft?: 'auto' | 'off';
  /** Progress and warning lines for the pusher (the hook writes them to stderr). */
  say?: (line: string) => void;
  /**
   * Where the scratch namespace comes from, its nft runs limited to `nftTimeoutMs` each; its
   * close() is called when done. Default: a new one (`openScratchNetns`); the server passes
   * namespaces it keeps warm (host/scratch-pool.ts).
   */
  scratch?: (nftTimeoutMs: number) => Promise<ScratchNetns>;
}

export interface PushValidation {
  problems: Array<PushProblem & { ref: string; commit: string }>;
  warnings: string[];
  /** Distinct ruleset blobs checked. */
  checked: number;
  /** Whether rulesets were loaded into a scratch namespace (else why not). */
  loaded: true | string;
  /** Where the time went, in ms: reading the push from git, JSON and schema, the scratch namespace's load and read-back. */
  timings: { gitMs: number; checkMs: number; nftMs: number };
}

interface Entry {
  path: string;
  blob: string;
}

/** Refs the validator judges; others (notes, pull requests) carry no rulesets to agents. */
const CHECKED_REFS = /^refs\/(heads|tags)\//;

/**
 * Validate `updates` (pre-receive input). Resolves with every problem found (empty: accept).
 * Rejects only when git itself fails (NFTSYNC_ERR_REPO_GIT_FAILED): the hook then refuses too.
 */
export async function validatePush(updates: readonly RefUpdate[], opts: PushValidatorOptions): Promise<PushValidation> {
  const started = performance.now();
  const say = opts.say ?? (() => undefined);
  const result: PushValidation = { problems: [], warnings: [], checked: 0, loaded: 'no ruleset to load', timings: { gitMs: 0, checkMs: 0, nftMs: 0 } };
  // Keyed by the files a ruleset is made of (shared/push/ruleset-files.ts): judged once a push.
  const toCheck = new Map<string, { files: RulesetFiles; where: Array<{ ref: string; commit: string; path: string }> }>();
  const configs: Array<{ ref: string; commit: string; yaml: Entry | undefined; names: Set<string> }> = [];

  const batch = new GitObjectBatch(opts.gitdir, opts.gitEnv ?? {});
  let blobs: Map<string, Buffer>;
  try {
    for (const u of updates) {
      if (isZeroId(u.new) || !CHECKED_REFS.test(u.ref)) continue;
      const commit = await peelToCommit(batch, u.new);
      if (commit === undefined) continue; // a tag of a tree or blob: agents refuse it anyway
      const entries = await listChecked(batch, commit);
      const names = new Set<string>();
      for (const e of entries.values()) {
        const name = rulesetNameOfPath(e.path);
        if (name !== undefined) names.add(name);
      }
      configs.push({ ref: u.ref, commit: commit.oid, yaml: entries.get(REPO_CONFIG_PATH), names });
      const old = isZeroId(u.old) ? undefined : await peelToCommit(batch, u.old);
      // What `git diff-tree -r --diff-filter=ACMRT OLD NEW -- rulesets` names: added, or changed
      // in content, mode or type (a rename is an add here: renames are not followed). A ruleset
      // is judged when its base or any of its change files is.
      const before = old === undefined ? undefined : await listChecked(batch, old);
      const changed = (e: TreeFile): boolean => {
        const was = before?.get(e.path);
        return before === undefined || was === undefined || was.blob !== e.blob || was.mode !== e.mode;
      };
      const layout = rulesetFilesOf(entries.values());
      const layoutBefore = before === undefined ? undefined : rulesetFilesOf(before.values());
      for (const p of layout.problems) {
        // A stray file is judged when it is new or changed; change files without a base whenever that is news.
        const news = p.blob === undefined ? layoutBefore === undefined || !layoutBefore.problems.some((q) => q.path === p.path && q.message === p.message) : changed(entries.get(p.path)!);
        if (news) result.problems.push({ ...p, ref: u.ref, commit: commit.oid });
      }
      for (const files of layout.rulesets.values()) {
        if (layoutBefore?.rulesets.get(files.name)?.key === files.key) continue;
        const item = toCheck.get(files.key) ?? { files, where: [] };
        item.where.push({ ref: u.ref, commit: commit.oid, path: files.base.path });
        toCheck.set(files.key, item);
      }
      for (const e of entries.values()) {
        // Other .json files (rulesets/sub/x.json): checked as rulesets, refused by their name.
        if (e.path === REPO_CONFIG_PATH || !e.path.endsWith('.json') || rulesetNameOfPath(e.path) !== undefined || /^rulesets\/[^/]+\.elements\//.test(e.path)) continue;
        if (!changed(e)) continue;
        const files: RulesetFiles = { name: e.path, base: e, changes: [], key: `${e.mode}:${e.blob}` };
        const item = toCheck.get(files.key) ?? { files, where: [] };
        item.where.push({ ref: u.ref, commit: commit.oid, path: e.path });
        toCheck.set(files.key, item);
      }
    }
    const wanted = [...toCheck.values()].flatMap(({ files }) => [files.base.blob, ...files.changes.map((c) => c.blob)]);
    blobs = await readBlobsFrom(batch, [...wanted, ...configs.flatMap((c) => (c.yaml ? [c.yaml.blob] : []))]);
  } finally {
    batch.close();
  }
  const gitDone = performance.now();
  result.timings.gitMs = gitDone - started;
  for (const c of configs) {
    const yaml = c.yaml ? { blob: c.yaml.blob, text: blobs.get(c.yaml.blob)!.toString('utf8') } : undefined;
    for (const p of checkRepoConfigFile(yaml, c.names)) result.problems.push({ ...p, ref: c.ref, commit: c.commit });
  }
  const parsed: Array<{ key: string; blob: string; path: string; ruleset: Ruleset }> = [];
  for (const [key, { files, where }] of toCheck) {
    result.checked++;
    const first = where[0]!;
    const r = checkComposedRuleset(files, blobs);
    // A problem of the base is reported at each ref's path; one of a change file at its own.
    if ('problem' in r) for (const w of where) result.problems.push({ ...r.problem, path: r.problem.path === files.base.path ? w.path : r.problem.path, ref: w.ref, commit: w.commit });
    else {
      // The blob named with a load's problem: the base's, or the newest change file's (the likely culprit).
      parsed.push({ key, blob: (files.changes.at(-1) ?? files.base).blob, path: first.path, ruleset: r.ruleset });
      for (const w of wellKnownTableWarnings(managedTables(r.ruleset))) result.warnings.push(`${first.path}: ${w}`);
    }
  }
  const checkDone = performance.now();
  result.timings.checkMs = checkDone - gitDone;
  if (parsed.length === 0) return result;
  if (opts.nft === 'off') {
    result.loaded = 'turned off';
    return result;
  }
  let ns: ScratchNetns;
  try {
    ns = await (opts.scratch ?? ((ms) => openScratchNetns('nft-sync-check', ms)))(nftTimeoutMs(parsed.reduce((n, p) => n + countElements(p.ruleset), 0)));
  } catch (err) {
    result.loaded = toNftSyncError(err).message;
    say(`warning: rulesets not loaded into nft (${result.loaded}); only JSON and schema were checked`);
    return result;
  }
  try {
    result.loaded = true;
    const found = (await loadTogether(ns, parsed)) ?? (await loadOneByOne(ns, parsed));
    found.forEach((f, i) => {
      const p = parsed[i]!;
      if ('problem' in f) {
        for (const w of toCheck.get(p.key)!.where) result.problems.push({ path: w.path, blob: p.blob, ...f.problem, ref: w.ref, commit: w.commit });
      } else for (const w of f.warnings) result.warnings.push(`${p.path}: ${w}`);
    });
  } finally {
    await ns.close();
    result.timings.nftMs = performance.now() - checkDone;
  }
  return result;
}

type Verdict = { warnings: string[] } | { problem: { code: string; message: string; pointer?: string } };

/** Suffix that keeps each ruleset's tables apart in the combined load. */
const SUFFIX = /__nftsync(\d+)$/;
/** nft's name limit, minus room for the suffix. */
const RENAMABLE = 240;

/**
 * The fast path: every ruleset's tables renamed apart (`t__nftsync7`), all loaded in ONE nft
 * transaction and listed back with ONE `nft -j list ruleset`. Undefined when that cannot be
 * used or the combined load fails: the caller then loads one by one to say which ruleset is
 * refused (the common case, a valid push, never pays for that).
 */
async function loadTogether(ns: ScratchNetns, parsed: ReadonlyArray<{ ruleset: Ruleset }>): Promise<Verdict[] | undefined> {
  if (parsed.length < 2) return undefined;
  if (parsed.some((p) => managedTables(p.ruleset).some((t) => Buffer.byteLength(t.name) > RENAMABLE || SUFFIX.test(t.name)))) return undefined;
  const renamed = parsed.map((p, i) => renameTables(p.ruleset, (n) => `${n}__nftsync${i}`));
  const batch = { nftables: renamed.flatMap((r) => buildApplyTransaction(r, []).nftables) };
  try {
    await ns.nft.applyJson(JSON.stringify(batch));
  } catch {
    await ns.nft.run(['flush', 'ruleset']).catch(() => undefined);
    return undefined;
  }
  const { listing, unverified } = await readBackScratch(ns.nft, batch);
  const split: RulesetItem[][] = parsed.map(() => []);
  for (const item of listing.nftables) {
    const m = SUFFIX.exec(tableOfItem(item) ?? '');
    if (m) split[Number(m[1])]?.push(item);
  }
  await ns.nft.run(['flush', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_APPLY' });
  const original = (key: string): string => key.replace(/^(\S+ \S+?)__nftsync\d+ /, '$1 ');
  return parsed.map((p, i) => compare(p.ruleset, renameTables({ nftables: split[i]! }, (n) => n.replace(SUFFIX, '')), unverified.filter((k) => k.split(' ')[1]!.endsWith(`__nftsync${i}`)).map(original)));
}

/** Load each ruleset in turn (each transaction replacing the previous one's tables). */
async function loadOneByOne(ns: ScratchNetns, parsed: ReadonlyArray<{ ruleset: Ruleset }>): Promise<Verdict[]> {
  const out: Verdict[] = [];
  let previous: TableRef[] = [];
  for (const { ruleset } of parsed) {
    const batch = buildApplyTransaction(ruleset, previous);
    try {
      await ns.nft.applyJson(JSON.stringify(batch));
    } catch (err) {
      const e = toNftSyncError(err);
      if (e.code !== 'NFTSYNC_ERR_NFT_APPLY') {
        out.push({ problem: { code: e.code, message: `nft could not judge the ruleset: ${e.message}` } });
        continue;
      }
      // Locate the culprit in an empty namespace (the refused batch changed nothing). A dry
      // run that cannot run (a time limit) leaves the refusal as nft worded it.
      await ns.nft.run(['flush', 'ruleset'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_APPLY' });
      const at = await locateRefusal(ns.nft, ruleset, String(e.data?.stderr ?? ''), previous).catch(() => undefined);
      previous = [];
      out.push({ problem: refusal(e.message, at) });
      continue;
    }
    previous = managedTables(ruleset);
    const { listing, unverified } = await readBackScratch(ns.nft, batch);
    out.push(compare(ruleset, listing, unverified));
  }
  return out;
}

/**
 * The problem for a refused load: nft's own words, after the object at fault when it was found
 * (`nft refuses rule 3 of chain inet filter input (/nftables/17): Error: …`).
 */
function refusal(message: string, at: LocatedRefusal | undefined): { code: string; message: string; pointer?: string } {
  const why = message.replace(/^nft -j -f - failed \(exit \d+\): /, '');
  if (at === undefined) return { code: 'NFTSYNC_ERR_NFT_APPLY', message: `nft refuses the ruleset: ${why}` };
  const how = at.how === 'bisect' ? `; found by dry runs of parts of the ruleset${at.fromWhat === undefined ? '' : `, somewhere from ${at.fromWhat} to here`}` : '';
  return { code: 'NFTSYNC_ERR_NFT_APPLY', message: `nft refuses ${at.what} (${at.pointer}${how}): ${why}`, pointer: at.pointer };
}

/**
 * Declared against listed back, with the agent's tolerance; what it tolerates is a warning.
 * The elements of `unverified` sets (never listed consistently) are left out of the comparison,
 * with a warning: a listing nft got wrong is no evidence against the ruleset.
 */
function compare(ruleset: Ruleset, listed: Ruleset, unverified: readonly string[] = []): Verdict {
  const tables = managedTables(ruleset);
  const want = normaliseRuleset(ruleset, tables);
  const have = normaliseRuleset(listed, tables);
  for (const key of unverified) {
    delete want.elements[key];
    delete have.elements[key];
  }
  const differences = diffNormalised(want, have);
  if (differences.length > 0) {
    const shown = differences.slice(0, 5).join('; ');
    return { problem: { code: 'NFTSYNC_ERR_RULESET_LOSSY', message: `nft accepts the ruleset but does not load it as written, so the hosts would not get it (declared -> listed back): ${shown}` } };
  }
  const skipped = unverified.map((k) => `set ${k}: its elements were not compared: nft listed them inconsistently ${READ_ATTEMPTS} times (the kernel was still rearranging the set)`);
  return { warnings: [...skipped, ...lostOnReload(ruleset, listed)] };
}

/**
 * Time limit for each nft run in the scratch namespace: a minute, plus a minute per million
 * set elements (a 1,000,000-element load took 3 s quiet and 28 s on a loaded 2-core machine).
 */
function nftTimeoutMs(elements: number): number {
  return SERVER_DEFAULTS.pushChecks.nftBaseMs + Math.ceil(elements / 1000) * SERVER_DEFAULTS.pushChecks.nftPerThousandElementsMs;
}

/** The commit `id` is or peels to (through tags), with its tree; undefined when it peels to none. */
async function peelToCommit(batch: GitObjectBatch, id: string): Promise<{ oid: string; tree: string } | undefined> {
  const o = await batch.read(`${id}^{commit}`);
  return o?.type === 'commit' ? { oid: o.oid, tree: parseCommit(o.content).tree } : undefined;
}

interface TreeFile extends Entry {
  mode: string;
}

/**
 * What `git ls-tree -r --full-tree COMMIT -- rulesets nft-sync.yaml` lists: every blob (files
 * and symlinks, not submodules) at those paths or under them, by path.
 */
async function listChecked(batch: GitObjectBatch, commit: { oid: string; tree: string }): Promise<Map<string, TreeFile>> {
  const algorithm = objectIdAlgorithm(commit.oid);
  const out = new Map<string, TreeFile>();
  const walk = async (tree: string, prefix: string, keep: (name: string) => boolean): Promise<void> => {
    const o = await batch.read(tree);
    if (o?.type !== 'tree') throw toNftSyncError(new Error(`git could not read tree ${tree} of commit ${commit.oid}`), 'NFTSYNC_ERR_REPO_GIT_FAILED');
    for (const e of parseTree(o.content, algorithm)) {
      if (!keep(e.name)) continue;
      const path = prefix + e.name;
      if (e.mode === '40000') await walk(e.id, `${path}/`, () => true);
      else if (e.mode !== '160000') out.set(path, { path, blob: e.id, mode: e.mode });
    }
  };
  await walk(commit.tree, '', (name) => name === 'rulesets' || name === REPO_CONFIG_PATH);
  return out;
}

/** Every blob of `ids` (duplicates read once). Errors: NFTSYNC_ERR_REPO_GIT_FAILED when one is missing or not a blob. */
async function readBlobsFrom(batch: GitObjectBatch, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const id of new Set(ids)) {
    const o = await batch.read(id);
    if (o?.type !== 'blob' || o.oid !== id) throw toNftSyncError(new Error(`git cat-file --batch could not read blob ${id}`), 'NFTSYNC_ERR_REPO_GIT_FAILED');
    out.set(id, o.content);
  }
  return out;
}
