/**
 * An element change as a commit: add and delete elements of one set or map of
 * `rulesets/NAME.json` on a branch, as a new commit whose author is the token's owner.
 *
 * Like a rollback (server/git/rollback.ts), the commit is built with git plumbing on the bare
 * repository (no work tree), judged by the push validator exactly as a push of it would be (the
 * pre-receive hook does not run for update-ref), and the branch moves by compare-and-swap
 * (`git update-ref REF NEW OLD`). When a push or another change lands in between, the change is
 * applied again to the new tip and tried again, a bounded number of times: a concurrent change
 * is never lost, and neither is this one's, since it is re-applied rather than merged.
 */
import { commitIdentity, gitOutput, readBranch } from './branch-commit.js';
import { applyElementChange, type ElementChangeRequest, type SetAddress } from '../../shared/ruleset/element-change.js';
import { NftSyncError } from '../../shared/errors.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import { renderRuleset } from '../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../shared/ruleset/ruleset-schema.js';
import { validatePush } from '../push/push-validator.js';
import { branchRef } from './rollback.js';
import { runGit } from '../../host/run-git.js';

export interface SetElementsRequest extends ElementChangeRequest {
  gitdir: string;
  /** Branch name (`main`) or `refs/heads/main`. */
  branch: string;
  /** Ruleset name: the file `rulesets/NAME.json`. */
  ruleset: string;
  set: SetAddress;
  /** Who asked (the token's owner): the commit's author. */
  owner: string;
  /** Attempts before NFTSYNC_ERR_ELEMENTS_CONFLICT (default 8). */
  maxAttempts?: number;
  /** The validator's nft load and read-back: 'auto' (default: when root) or 'off'. */
  nft?: 'auto' | 'off';
  /** Called between building the commit and moving the ref (tests use it to race a push). */
  beforeUpdate?: (attempt: number) => Promise<void> | void;
}

export interface SetElementsResult {
  branch: string;
  /** The new commit, or the branch's commit when nothing changed. */
  commit: string;
  /** The branch's commit the change was built on. */
  previous: string;
  kind: 'set' | 'map';
  /** Elements really added (or replaced: another timeout or map value) and really deleted. */
  added: number;
  deleted: number;
  attempts: number;
}

/** Most elements the commit message lists one by one (the diff shows them all). */
const LISTED = 50;




/** `ls-tree -z` records of `tree` with `name` replaced by (or given) `entry`, made into a tree. */
async function replaceEntry(gitdir: string, tree: string, name: string, entry: string): Promise<string> {
  const kept = (await gitOutput(gitdir, ['ls-tree', '-z', tree])).split('\0').filter((l) => l !== '' && l.slice(l.indexOf('\t') + 1) !== name);
  return (await gitOutput(gitdir, ['mktree', '-z'], [...kept, `${entry}\t${name}`].map((l) => `${l}\0`).join(''))).trim();
}

function commitMessage(req: SetElementsRequest, kind: string, added: readonly unknown[], deleted: readonly unknown[]): string {
  const where = `${kind} ${req.set.family} ${req.set.table} ${req.set.name}`;
  const lines = [...added.map((e) => `add ${JSON.stringify(e)}`), ...deleted.map((e) => `delete ${JSON.stringify(e)}`)];
  const shown = lines.slice(0, LISTED);
  if (lines.length > LISTED) shown.push(`… and ${lines.length - LISTED} more (git show lists them all)`);
  return `${req.ruleset}: ${where}: +${added.length} -${deleted.length} elements\n\n${shown.join('\n')}\n\nRequested by: ${req.owner} via the nft-sync element API\n`;
}

/**
 * Make the change and move the branch to it. A change that changes nothing (every added element
 * present, every deleted one absent) makes no commit: the result carries the branch's commit and
 * zero counts.
 *
 * Errors: NFTSYNC_ERR_REF_INVALID (not a branch name), NFTSYNC_ERR_REF_NOT_FOUND (no such
 * branch), NFTSYNC_ERR_RULESET_NAME_INVALID, NFTSYNC_ERR_RULESET_NOT_FOUND (no
 * rulesets/NAME.json on the branch), NFTSYNC_ERR_SET_NOT_FOUND, NFTSYNC_ERR_ELEMENT_INVALID
 * (shared/element-change.ts), NFTSYNC_ERR_PUSH_REFUSED (the validator refuses the result;
 * `data.problems`), NFTSYNC_ERR_ELEMENTS_CONFLICT (the branch moved under every one of
 * `maxAttempts` attempts; retryable), NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function changeSetElements(req: SetElementsRequest): Promise<SetElementsResult> {
  const ref = branchRef(req.branch);
  assertRulesetName(req.ruleset);
  const path = `rulesets/${req.ruleset}.json`;
  const maxAttempts = req.maxAttempts ?? 8;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const old = await readBranch(req.gitdir, ref);
    if (old === undefined) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch ${ref.slice('refs/heads/'.length)} in the repository`, { data: { ref: req.branch } });
    const entry = (await gitOutput(req.gitdir, ['ls-tree', '-z', old, '--', path])).split('\0')[0] ?? '';
    const [mode, type, blob] = entry.slice(0, entry.indexOf('\t')).split(' ');
    if (type !== 'blob') {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `branch ${req.branch} (${old.slice(0, 12)}) has no ${path}`, { data: { ruleset: req.ruleset, commit: old } });
    }
    const ruleset = parseRuleset(await gitOutput(req.gitdir, ['cat-file', 'blob', blob!]));
    const change = applyElementChange(ruleset, req.set, req);
    if (change.added.length === 0 && change.deleted.length === 0) {
      return { branch: req.branch, commit: old, previous: old, kind: change.kind, added: 0, deleted: 0, attempts: attempt };
    }
    const newBlob = (await gitOutput(req.gitdir, ['hash-object', '-w', '--stdin'], renderRuleset(ruleset))).trim();
    const rulesetsTree = await replaceEntry(req.gitdir, `${old}:rulesets`, `${req.ruleset}.json`, `${mode} blob ${newBlob}`);
    const tree = await replaceEntry(req.gitdir, `${old}^{tree}`, 'rulesets', `040000 tree ${rulesetsTree}`);
    const commit = (await gitOutput(req.gitdir, ['commit-tree', tree, '-p', old, '-F', '-'], commitMessage(req, change.kind, change.added, change.deleted), commitIdentity(req.owner))).trim();
    const judged = await validatePush([{ old, new: commit, ref }], { gitdir: req.gitdir, nft: req.nft ?? 'auto' });
    if (judged.problems.length > 0) {
      const problems = judged.problems.map((p) => ({ path: p.path, code: p.code, message: p.message }));
      throw new NftSyncError('NFTSYNC_ERR_PUSH_REFUSED', `element change refused, as a push of it would be: ${problems.map((p) => `${p.path}: ${p.code}: ${p.message}`).join('; ')}`, {
        data: { branch: req.branch, problems },
      });
    }
    await req.beforeUpdate?.(attempt);
    try {
      await runGit(['update-ref', '-m', `nft-sync elements ${req.ruleset} by ${req.owner}`, ref, commit, old], { gitdir: req.gitdir });
      return { branch: req.branch, commit, previous: old, kind: change.kind, added: change.added.length, deleted: change.deleted.length, attempts: attempt };
    } catch (err) {
      // Lost the compare-and-swap only if the branch really moved; anything else is git failing.
      if ((await readBranch(req.gitdir, ref)) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
    }
  }
  throw new NftSyncError('NFTSYNC_ERR_ELEMENTS_CONFLICT', `branch ${req.branch} moved during each of ${maxAttempts} attempts to commit the element change (pushes keep landing); nothing was changed, send it again`, {
    data: { branch: req.branch, attempts: maxAttempts },
  });
}
