/**
 * Publishing a live change (agent --publish, "reverse GitOps"): the ruleset an agent lists from
 * its host becomes a new revision of `rulesets/NAME.json` on the branch it follows.
 *
 * The revisions merged are effective rulesets (the base with its element change files applied,
 * server/git/stored-ruleset.ts), and the result is written whole as the new base: the commit
 * removes `rulesets/NAME.elements/`, whose changes it holds.
 *
 * - When the branch is still at `base` (the revision the agent had applied), the change is
 *   committed as sent, objects it left alone kept in the file's own form. When it moved, the
 *   change is rebased onto the tip by an object-level
 *   three-way merge (shared/ruleset/ruleset-merge.ts: base, ours = live, theirs = tip); when both
 *   touched the same objects nothing is committed and NFTSYNC_ERR_PUBLISH_CONFLICT names them.
 * - The commit's author is the agent's name; nft-sync is the committer; the message says which
 *   credential allowed it.
 * - It is judged by the push validator (server/push/push-validator.ts), as a push of it would be:
 *   the pre-receive hook does not run for update-ref.
 * - The ref moves by compare-and-swap (`git update-ref REF NEW OLD`); a push landing meanwhile
 *   makes it merge again onto the new tip, a bounded number of times.
 */
import { commitIdentity } from '../git/branch-commit.js';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import type { RefUpdate } from '../../shared/push/push-checks.js';
import { mergeRulesets } from '../../shared/ruleset/ruleset-merge.js';
import { diffNormalised, normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import { elementsDirName } from '../../shared/ruleset/element-log.js';
import { composedTextOf } from '../../shared/ruleset/compose-ruleset.js';
import { newFloorCount } from '../../shared/ruleset/text-pad.js';
import { gitBlobId, objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { composeStored, readStoredRuleset } from '../git/stored-ruleset.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import { validatePush, type PushValidation } from '../push/push-validator.js';
import { branchRef } from '../git/rollback.js';
import { runGit, updateRef } from '../../host/run-git.js';

export interface PublishRequest {
  gitdir: string;
  /** Branch name or `refs/heads/NAME`. */
  branch: string;
  ruleset: string;
  /** The commit the agent had applied (the merge base). */
  base: string;
  /** The live ruleset, as the agent sends it. */
  bytes: Buffer;
  /** The publishing agent: the commit's author. */
  agent: string;
  /** What allowed it, for the commit message: `token of OWNER` or `certificate`. */
  credential: string;
  /** How the new commit is judged (default: validatePush with the scratch namespace when root). */
  validate?: (updates: RefUpdate[]) => Promise<PushValidation>;
  /** Attempts before NFTSYNC_ERR_PUBLISH_RACED (default 5). */
  maxAttempts?: number;
  /** Called between building the commit and moving the ref (tests race a push here). */
  beforeUpdate?: (attempt: number) => Promise<void> | void;
}

export interface PublishResult {
  ref: string;
  commit: string;
  blob: string;
  rebased: boolean;
  unchanged: boolean;
  attempts: number;
  /** Object-level differences from the tip the change was committed onto. */
  differences: string[];
}

async function git(gitdir: string, args: string[], input?: string, env?: Record<string, string>): Promise<string> {
  try {
    return (await runGit(['--git-dir', gitdir, ...args], { input, env })).stdout;
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
  }
}

async function tryGit(gitdir: string, args: string[]): Promise<string | undefined> {
  try {
    return (await runGit(['--git-dir', gitdir, ...args])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The effective ruleset at `commit` (the base with its element change files applied), parsed;
 * `key` identifies the files it is made of, `blob` the id agents know it by; undefined when absent.
 */
async function rulesetAt(gitdir: string, commit: string, name: string): Promise<{ key: string; blob: string; ruleset: Ruleset } | undefined> {
  const stored = await readStoredRuleset(gitdir, commit, name);
  if (stored === undefined) return undefined;
  if (stored.changes.length === 0) return { key: stored.base.blob, blob: stored.base.blob, ruleset: composeStored(name, stored) };
  // (Only with change files: counting the floor may render a big base written on one line.)
  const added = newFloorCount();
  const ruleset = composeStored(name, stored, added);
  // The id agents fetch it by: the composed text, its pad included (composeRulesetText).
  const blob = gitBlobId(Buffer.from(composedTextOf(ruleset, stored.base.bytes, added)), objectIdAlgorithm(stored.base.blob));
  return { key: [stored.base.blob, ...stored.changes.map((c) => c.blob)].join(','), blob, ruleset };
}


/** The repository form of a ruleset: two-space JSON and a final newline, as `nft-sync import` writes. */
export function rulesetText(ruleset: Ruleset): string {
  return `${JSON.stringify(ruleset, null, 2)}\n`;
}

/**
 * Commit `req.bytes` (merged onto the tip when the branch moved since `req.base`) and move the
 * branch to it. Resolves with the new commit, or the tip with `unchanged` when the tip already
 * has that content.
 *
 * Errors: NFTSYNC_ERR_REF_INVALID (not a branch), NFTSYNC_ERR_REF_NOT_FOUND (no such branch, or
 * `base` unknown), NFTSYNC_ERR_RULESET_NOT_FOUND (no such ruleset at base or tip), the ruleset
 * parser's (RULESET_JSON, RULESET_SCHEMA...), NFTSYNC_ERR_PUBLISH_CONFLICT (`data.conflicts`),
 * NFTSYNC_ERR_PUSH_REFUSED (`data.problems`), NFTSYNC_ERR_PUBLISH_RACED (retryable),
 * NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function publishRevision(req: PublishRequest): Promise<PublishResult> {
  const ref = branchRef(req.branch);
  assertRulesetName(req.ruleset);
  const path = `rulesets/${req.ruleset}.json`;
  const ours = parseRuleset(req.bytes);
  const base = await rulesetAt(req.gitdir, req.base, req.ruleset).catch((err: unknown) => {
    throw toNftSyncError(err);
  });
  if ((await tryGit(req.gitdir, ['rev-parse', '--verify', '-q', `${req.base}^{commit}`])) === undefined) {
    throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `base commit ${req.base.slice(0, 12)} is not in the repository`, { data: { ref: req.base } });
  }
  if (base === undefined) {
    throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `${path} is not in the base commit ${req.base.slice(0, 12)}`, { data: { ruleset: req.ruleset, commit: req.base } });
  }
  const validate = req.validate ?? ((updates: RefUpdate[]) => validatePush(updates, { gitdir: req.gitdir, nft: 'auto' }));
  const maxAttempts = req.maxAttempts ?? 5;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const old = await tryGit(req.gitdir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
    if (old === undefined) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch ${ref.slice('refs/heads/'.length)} in the repository`, { data: { ref: req.branch } });
    const tip = await rulesetAt(req.gitdir, old, req.ruleset);
    if (tip === undefined) throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `${path} is not on branch ${req.branch} any more`, { data: { ruleset: req.ruleset, commit: old } });
    const rebased = tip.key !== base.key;
    // Merged even onto an unmoved branch (theirs = base): objects the change left alone keep the
    // file's own form, so `git log -p` shows the change and not nft's way of listing the rest.
    const merged = mergeRulesets(base.ruleset, ours, tip.ruleset);
    if (merged.kind === 'conflict') {
      throw new NftSyncError('NFTSYNC_ERR_PUBLISH_CONFLICT', `the live change of ${req.agent} and branch ${req.branch} (now ${old.slice(0, 12)}, was ${req.base.slice(0, 12)}) changed the same objects of ruleset ${req.ruleset}: ${merged.conflicts.slice(0, 5).join('; ')}`, {
        data: { ruleset: req.ruleset, branch: req.branch, base: req.base, tip: old, conflicts: merged.conflicts },
      });
    }
    const text = rulesetText(merged.ruleset);
    const differences = diffNormalised(normaliseRuleset(tip.ruleset), normaliseRuleset(merged.ruleset));
    if (differences.length === 0) return { ref, commit: old, blob: tip.blob, rebased, unchanged: true, attempts: attempt, differences };
    const blob = (await git(req.gitdir, ['hash-object', '-w', '--stdin'], text)).trim();
    const tree = await treeWith(req.gitdir, old, path, blob, `rulesets/${elementsDirName(req.ruleset)}`);
    const summary = differences.slice(0, 20).map((d) => `  ${d}`).join('\n');
    const message = `Publish live change of ${req.ruleset} from ${req.agent}\n\n${summary}${differences.length > 20 ? `\n  (${differences.length - 20} more)` : ''}\n\nBase: ${req.base}${rebased ? ` (merged onto ${old})` : ''}\nPublished-by: ${req.agent} (${req.credential}) via nft-sync agent --publish\n`;
    const commit = (await git(req.gitdir, ['commit-tree', tree, '-p', old, '-F', '-'], message, commitIdentity(req.agent))).trim();
    const judged = await validate([{ old, new: commit, ref }]);
    if (judged.problems.length > 0) {
      const problems = judged.problems.map((p) => ({ path: p.path, code: p.code, message: p.message }));
      throw new NftSyncError('NFTSYNC_ERR_PUSH_REFUSED', `live change of ${req.ruleset} from ${req.agent} refused, as a push of it would be: ${problems.map((p) => `${p.path}: ${p.code}: ${p.message}`).join('; ')}`, {
        data: { ruleset: req.ruleset, branch: req.branch, problems },
      });
    }
    await req.beforeUpdate?.(attempt);
    try {
      await updateRef(req.gitdir, ref, commit, old, `nft-sync publish by ${req.agent}`);
      return { ref, commit, blob, rebased, unchanged: false, attempts: attempt, differences };
    } catch (err) {
      if ((await tryGit(req.gitdir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`])) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
    }
  }
  throw new NftSyncError('NFTSYNC_ERR_PUBLISH_RACED', `branch ${req.branch} moved during each of ${maxAttempts} attempts to publish the live change of ${req.agent}; nothing was committed`, {
    data: { branch: req.branch, attempts: maxAttempts },
  });
}

/** The tree of `commit` with `path` set to `blob` and directory `drop` removed, built in a throwaway index. */
async function treeWith(gitdir: string, commit: string, path: string, blob: string, drop: string): Promise<string> {
  const index = join(tmpdir(), `nft-sync-publish-${process.pid}-${randomBytes(6).toString('hex')}.index`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(gitdir, ['read-tree', commit], undefined, env);
    await git(gitdir, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], undefined, env);
    await git(gitdir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', drop], undefined, env);
    return (await git(gitdir, ['write-tree'], undefined, env)).trim();
  } finally {
    await rm(index, { force: true });
  }
}
