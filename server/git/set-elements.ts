/**
 * An element change as a commit: add and delete elements of one set or map of ruleset NAME on
 * a branch, as a new commit whose author is the token's owner.
 *
 * The change is written as one more element change file, `rulesets/NAME.elements/NNNNNN.json`
 * (shared/ruleset/element-log.ts), holding only the elements really added and deleted: a
 * 1,000-element change of a 1,000,000-element set writes about 20 KB, not a new 15-20 MB
 * ruleset. When one more would pass a fold threshold (server/defaults.ts `elementLog`: more
 * than 64 files, or their bytes above an eighth of the base's), the same commit folds instead:
 * the effective ruleset becomes the new `rulesets/NAME.json` and the change files are removed
 * (the commit message says how many). A small ruleset is thus rewritten whole, as before.
 *
 * Like a rollback (server/git/rollback.ts), the commit is built with git plumbing on the bare
 * repository (no work tree), judged by the push validator exactly as a push of it would be (the
 * pre-receive hook does not run for update-ref), and the branch moves by compare-and-swap
 * (`git update-ref REF NEW OLD`). When a push or another change lands in between, the change is
 * applied again to the new tip and tried again, a bounded number of times: a concurrent change
 * is never lost, and neither is this one's, since it is re-applied rather than merged.
 */
import { commitIdentity, gitOutput, readBranch, replaceEntry } from './branch-commit.js';
import { applyElementChange, type ElementChangeRequest, type SetAddress } from '../../shared/ruleset/element-change.js';
import { NftSyncError } from '../../shared/errors.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import { changeFileName, elementsDirName, renderChangeFile } from '../../shared/ruleset/element-log.js';
import { foldDue } from './fold-due.js';
import { composeStored, readStoredRuleset, type StoredRuleset } from './stored-ruleset.js';
import { composeRulesetText } from '../../shared/ruleset/compose-ruleset.js';
import { validatePush } from '../push/push-validator.js';
import { branchRef } from './rollback.js';
import { updateRef } from '../../host/run-git.js';
import type { ElementCommit, ElementTips } from './element-tips.js';

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
  /**
   * The server's kept tips (server/git/element-tips.ts): a change to a followed set is made
   * without composing, rendering and loading the whole ruleset. Absent: always the whole path.
   */
  tips?: ElementTips;
  /** Called between building the commit and moving the ref (tests use it to race a push). */
  beforeUpdate?: (attempt: number) => Promise<void> | void;
}

/** What a change made (server/git/element-tips.ts ElementCommit). */
export type SetElementsResult = ElementCommit;

/** Most elements the commit message lists one by one (the diff shows them all). */
const LISTED = 50;




function commitMessage(req: SetElementsRequest, kind: string, added: readonly unknown[], deleted: readonly unknown[], folded: number): string {
  const where = `${kind} ${req.set.family} ${req.set.table} ${req.set.name}`;
  const lines = [...added.map((e) => `add ${JSON.stringify(e)}`), ...deleted.map((e) => `delete ${JSON.stringify(e)}`)];
  const shown = lines.slice(0, LISTED);
  if (lines.length > LISTED) shown.push(`… and ${lines.length - LISTED} more (git show lists them all)`);
  const fold = folded === 0 ? '' : `\n\nFolded ${folded} element change${folded === 1 ? '' : 's'} (this one included) into rulesets/${req.ruleset}.json; rulesets/${elementsDirName(req.ruleset)}/ is empty again.`;
  return `${req.ruleset}: ${where}: +${added.length} -${deleted.length} elements\n\n${shown.join('\n')}${fold}\n\nRequested by: ${req.owner} via the nft-sync element API\n`;
}

/**
 * The `rulesets/` tree with the change written: one more change file (`text`, numbered after the
 * last), or, when that would pass a fold threshold (server/defaults.ts elementLog), the effective
 * text of the stored files and `text` (composeRulesetText) as the new base with the change files gone. `folded`: how many change files (this
 * one included) went into the base; 0 when none.
 */
async function writeChange(req: SetElementsRequest, stored: StoredRuleset, text: string): Promise<{ rulesetsTree: string; folded: number }> {
  const dir = elementsDirName(req.ruleset);
  const layout = { changes: stored.changes.map((c) => ({ file: c.file, size: c.bytes.length })), elementsEntries: stored.elementsEntries.length, baseSize: stored.base.bytes.length };
  const { fold, files, next } = foldDue(layout, Buffer.byteLength(text));
  if (fold) {
    // The effective text of every change file, this one's included, as agents would hold it
    // (composeRulesetText: new elements in the order of their last change, then the pad), byte
    // for byte what the fast path (element-tips.ts) and a fold on request (fold-elements.ts)
    // store; not the ruleset changed in place, whose layout differs (an element changed again
    // stays where it was) and which has no pad.
    const path = (file: string) => `rulesets/${dir}/${file}`;
    const composed = composeRulesetText({ path: `rulesets/${req.ruleset}.json`, bytes: stored.base.bytes }, [...stored.changes.map((c) => ({ path: path(c.file), bytes: c.bytes })), { path: path(changeFileName(next)), bytes: text }]);
    const blob = (await gitOutput(req.gitdir, ['hash-object', '-w', '--stdin'], composed.toString())).trim();
    const withBase = await replaceEntry(req.gitdir, stored.rulesetsTree, `${req.ruleset}.json`, `${stored.base.mode} blob ${blob}`);
    return { rulesetsTree: await replaceEntry(req.gitdir, withBase, dir, undefined), folded: files };
  }
  const blob = (await gitOutput(req.gitdir, ['hash-object', '-w', '--stdin'], text)).trim();
  const kept = stored.elementsEntries.map((e) => `${e.mode.padStart(6, '0')} ${e.mode === '40000' ? 'tree' : 'blob'} ${e.id}\t${e.name}`);
  const elements = (await gitOutput(req.gitdir, ['mktree', '-z'], [...kept, `100644 blob ${blob}\t${changeFileName(next)}`].map((l) => `${l}\0`).join(''))).trim();
  return { rulesetsTree: await replaceEntry(req.gitdir, stored.rulesetsTree, dir, `040000 tree ${elements}`), folded: 0 };
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
    if (req.tips !== undefined) {
      const fast = await req.tips.change(req, ref, old, attempt, (kind, added, deleted, folded) => commitMessage(req, kind, added, deleted, folded));
      if (fast === 'moved') continue;
      if (fast !== undefined) return fast.done;
    }
    const stored = await readStoredRuleset(req.gitdir, old, req.ruleset);
    if (stored === undefined) {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `branch ${req.branch} (${old.slice(0, 12)}) has no ${path}`, { data: { ruleset: req.ruleset, commit: old } });
    }
    const ruleset = composeStored(req.ruleset, stored);
    const change = applyElementChange(ruleset, req.set, req);
    if (change.added.length === 0 && change.deleted.length === 0) {
      return { branch: req.branch, commit: old, previous: old, kind: change.kind, added: 0, deleted: 0, attempts: attempt };
    }
    const written = await writeChange(req, stored, renderChangeFile(req.set, change.added, change.deleted));
    const tree = await replaceEntry(req.gitdir, `${old}^{tree}`, 'rulesets', `040000 tree ${written.rulesetsTree}`);
    const message = commitMessage(req, change.kind, change.added, change.deleted, written.folded);
    const commit = (await gitOutput(req.gitdir, ['commit-tree', tree, '-p', old, '-F', '-'], message, commitIdentity(req.owner))).trim();
    const judged = await validatePush([{ old, new: commit, ref }], { gitdir: req.gitdir, nft: req.nft ?? 'auto' });
    if (judged.problems.length > 0) {
      const problems = judged.problems.map((p) => ({ path: p.path, code: p.code, message: p.message }));
      throw new NftSyncError('NFTSYNC_ERR_PUSH_REFUSED', `element change refused, as a push of it would be: ${problems.map((p) => `${p.path}: ${p.code}: ${p.message}`).join('; ')}`, {
        data: { branch: req.branch, problems },
      });
    }
    await req.beforeUpdate?.(attempt);
    try {
      await updateRef(req.gitdir, ref, commit, old, `nft-sync elements ${req.ruleset} by ${req.owner}`);
      return { branch: req.branch, commit, previous: old, kind: change.kind, added: change.added.length, deleted: change.deleted.length, attempts: attempt, folded: written.folded };
    } catch (err) {
      // Lost the compare-and-swap only if the branch really moved; anything else is git failing.
      if ((await readBranch(req.gitdir, ref)) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
    }
  }
  throw new NftSyncError('NFTSYNC_ERR_ELEMENTS_CONFLICT', `branch ${req.branch} moved during each of ${maxAttempts} attempts to commit the element change (pushes keep landing); nothing was changed, send it again`, {
    data: { branch: req.branch, attempts: maxAttempts },
  });
}
