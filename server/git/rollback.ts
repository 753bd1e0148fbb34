/**
 * Rollback: a NEW commit on a branch whose `rulesets/` and `nft-sync.yaml` equal those at an
 * earlier revision. History is never rewritten: the new commit's parent is the branch's current
 * commit, so `git log` shows the bad change and its rollback.
 *
 * What is restored: the `rulesets/` tree and `nft-sync.yaml` (both, because nft-sync.yaml picks
 * the ruleset per agent: restoring rulesets alone could leave agents pointed at a ruleset the old
 * revision never had). Every other top-level entry (README, docs) stays as on the branch.
 *
 * The ref moves by git's compare-and-swap (`git update-ref REF NEW OLD`): if a push lands between
 * reading the branch and moving it, the update fails, the rollback is rebuilt on the new head and
 * tried again (a bounded number of times), so a concurrent push is never lost.
 *
 * Validation: the pre-receive hook does not run for update-ref, so the rollback commit is judged
 * here by the same validator (server/push/push-validator.ts) before the ref moves. REV having been on
 * the branch proves nothing: the hook judges only the tip of each push, so a commit in the middle
 * of a push was never judged.
 */
import { commitIdentity, gitOutput, readBranch } from './branch-commit.js';
import { NftSyncError } from '../../shared/errors.js';
import type { RollbackResult } from '../../shared/http/http-api.js';
import { assertRef } from '../../shared/ruleset/names.js';
import { REPO_CONFIG_PATH } from '../../shared/config/repo-config.js';
import { validatePush } from '../push/push-validator.js';
import { updateRef } from '../../host/run-git.js';

/** Top-level tree entries a rollback restores. */
const RESTORED = new Set(['rulesets', REPO_CONFIG_PATH]);

export interface RollbackRequest {
  /** The git directory (a bare repository, or a work tree's `.git`). */
  gitdir: string;
  /** Branch name (`main`) or `refs/heads/main`. */
  branch: string;
  /** Full commit id of the revision to return to (resolve it first). */
  target: string;
  /** As the user named the target (for the message), e.g. `v1.2.0` or an abbreviated id. */
  targetName: string;
  /** Who asked (the token's owner). */
  owner: string;
  /** Attempts before NFTSYNC_ERR_ROLLBACK_CONFLICT (default 5). */
  maxAttempts?: number;
  /** The validator's nft load and read-back: 'auto' (default: when root) or 'off'. */
  nft?: 'auto' | 'off';
  /** Called between building the commit and moving the ref (tests use it to race a push). */
  beforeUpdate?: (attempt: number) => Promise<void> | void;
}

/** What a rollback did (the API's answer without `owner`; its schema: shared/http/http-api.ts). */
export type { RollbackResult } from '../../shared/http/http-api.js';

/** `refs/heads/NAME` for a branch given as NAME or as the full ref. Throws NFTSYNC_ERR_REF_INVALID. */
export function branchRef(branch: string): string {
  assertRef(branch);
  const full = branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
  if (!full.startsWith('refs/heads/') || full === 'refs/heads/' || /^[0-9a-f]{40}$/.test(branch)) {
    throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `${JSON.stringify(branch)} is not a branch: give a branch name such as main`, { data: { ref: branch } });
  }
  return full;
}




/**
 * Make the rollback commit and move the branch to it.
 *
 * Errors: NFTSYNC_ERR_REF_INVALID (not a branch name), NFTSYNC_ERR_REF_NOT_FOUND (no such
 * branch), NFTSYNC_ERR_RULESET_NOT_FOUND (the target has no `rulesets/` directory), NFTSYNC_ERR_ROLLBACK_NOOP (the branch already has those rulesets and nft-sync.yaml:
 * no empty commit is made, so agents and history see nothing happen), NFTSYNC_ERR_ROLLBACK_CONFLICT
 * (the branch moved under every one of `maxAttempts` attempts; retryable),
 * NFTSYNC_ERR_PUSH_REFUSED (the validator refuses the result; `data.problems`),
 * NFTSYNC_ERR_REPO_GIT_FAILED (git itself failed).
 */
export async function rollbackBranch(req: RollbackRequest): Promise<RollbackResult> {
  const ref = branchRef(req.branch);
  const maxAttempts = req.maxAttempts ?? 5;
  const wanted = (await gitOutput(req.gitdir, ['ls-tree', '-z', req.target])).split('\0').filter((l) => l !== '' && RESTORED.has(l.slice(l.indexOf('\t') + 1)));
  // A revision without rulesets/ would leave every agent with nothing to fetch: not a rollback.
  if (!wanted.some((l) => l.endsWith('\trulesets') && l.includes(' tree '))) {
    throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `${req.targetName} (${req.target.slice(0, 12)}) has no rulesets/ directory: nothing to roll back to`, {
      data: { commit: req.target },
    });
  }
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const old = await readBranch(req.gitdir, ref);
    if (old === undefined) {
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch ${ref.slice('refs/heads/'.length)} in the repository`, { data: { ref: req.branch } });
    }
    const current = (await gitOutput(req.gitdir, ['ls-tree', '-z', old])).split('\0').filter((l) => l !== '');
    const kept = current.filter((l) => !RESTORED.has(l.slice(l.indexOf('\t') + 1)));
    const tree = (await gitOutput(req.gitdir, ['mktree', '-z'], [...kept, ...wanted].map((l) => `${l}\0`).join(''))).trim();
    const oldTree = (await gitOutput(req.gitdir, ['rev-parse', `${old}^{tree}`])).trim();
    if (tree === oldTree) {
      throw new NftSyncError('NFTSYNC_ERR_ROLLBACK_NOOP', `branch ${req.branch} (${old.slice(0, 12)}) already has the rulesets and nft-sync.yaml of ${req.targetName} (${req.target.slice(0, 12)}): nothing to roll back`, {
        data: { branch: req.branch, commit: old, target: req.target },
      });
    }
    const message = `Roll back rulesets to ${req.targetName} (${req.target.slice(0, 12)})\n\nRestores rulesets/ and ${REPO_CONFIG_PATH} as of ${req.target}.\nRequested by: ${req.owner} via nft-sync rollback\n`;
    const commit = (await gitOutput(req.gitdir, ['commit-tree', tree, '-p', old, '-F', '-'], message, commitIdentity(req.owner))).trim();
    const judged = await validatePush([{ old, new: commit, ref }], { gitdir: req.gitdir, nft: req.nft ?? 'auto' });
    if (judged.problems.length > 0) {
      const problems = judged.problems.map((p) => ({ path: p.path, code: p.code, message: p.message }));
      throw new NftSyncError('NFTSYNC_ERR_PUSH_REFUSED', `rollback to ${req.targetName} refused, as a push of it would be: ${problems.map((p) => `${p.path}: ${p.code}: ${p.message}`).join('; ')}`, {
        data: { branch: req.branch, target: req.target, problems },
      });
    }
    await req.beforeUpdate?.(attempt);
    try {
      await updateRef(req.gitdir, ref, commit, old, `nft-sync rollback to ${req.target} by ${req.owner}`);
      return { branch: req.branch, commit, previous: old, target: req.target, attempts: attempt };
    } catch (err) {
      // Lost the compare-and-swap only if the branch really moved; anything else is git failing.
      if ((await readBranch(req.gitdir, ref)) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
    }
  }
  throw new NftSyncError('NFTSYNC_ERR_ROLLBACK_CONFLICT', `branch ${req.branch} moved during each of ${maxAttempts} rollback attempts (pushes keep landing); nothing was changed, try again`, {
    data: { branch: req.branch, attempts: maxAttempts },
  });
}
