/**
 * Folding on request (`nft-sync set fold`, `POST /api/v1/rulesets/NAME/elements/fold`): the
 * effective ruleset of NAME (the base with its element change files applied) written as the new
 * `rulesets/NAME.json`, and `rulesets/NAME.elements/` removed, as one commit whose author is the
 * token's owner. What an operator does before editing the base by hand or tagging a signed
 * release; the element API folds by itself past its thresholds (server/git/set-elements.ts).
 *
 * Built and moved like an element change: plumbing on the bare repository, compare-and-swap on
 * the branch, tried again when the branch moved. Not judged by the push validator: the new base
 * is the effective text agents already have, byte for byte (composed in a worker thread for a
 * big set when the server passes RulesetRepository.composeText), so there is nothing new to load.
 */
import { commitIdentity, gitOutput, readBranch, replaceEntry } from './branch-commit.js';
import { NftSyncError } from '../../shared/errors.js';
import { elementsDirName } from '../../shared/ruleset/element-log.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import { composeRulesetText, type RulesetFile } from '../../shared/ruleset/compose-ruleset.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { writeLooseObject } from './loose-object.js';
import { branchRef } from './rollback.js';
import { readStoredRuleset } from './stored-ruleset.js';
import { updateRef } from '../../host/run-git.js';

export interface FoldRequest {
  gitdir: string;
  /** Branch name (`main`) or `refs/heads/main`. */
  branch: string;
  ruleset: string;
  /** Who asked (the token's owner): the commit's author. */
  owner: string;
  /** Attempts before NFTSYNC_ERR_ELEMENTS_CONFLICT (default 8). */
  maxAttempts?: number;
  /**
   * How the effective text is composed (the server passes RulesetRepository.composeText: a big
   * set in a worker thread). Default: composeRulesetText here.
   */
  compose?: (base: RulesetFile, changes: readonly RulesetFile[]) => Promise<Buffer>;
}

export interface FoldResult {
  branch: string;
  /** The new commit, or the branch's commit when there was nothing to fold. */
  commit: string;
  previous: string;
  /** Change files folded into the base (0: none, no commit). */
  folded: number;
  attempts: number;
}

/**
 * Fold NAME's change files into its base on `req.branch`. Errors: NFTSYNC_ERR_REF_INVALID,
 * NFTSYNC_ERR_REF_NOT_FOUND, NFTSYNC_ERR_RULESET_NAME_INVALID, NFTSYNC_ERR_RULESET_NOT_FOUND,
 * composeRulesetText's (the change files no longer fit the base: a push made without the hook),
 * NFTSYNC_ERR_ELEMENTS_CONFLICT (retryable), NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function foldElementChanges(req: FoldRequest): Promise<FoldResult> {
  const ref = branchRef(req.branch);
  assertRulesetName(req.ruleset);
  const dir = elementsDirName(req.ruleset);
  const maxAttempts = req.maxAttempts ?? 8;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const old = await readBranch(req.gitdir, ref);
    if (old === undefined) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch ${ref.slice('refs/heads/'.length)} in the repository`, { data: { ref: req.branch } });
    const stored = await readStoredRuleset(req.gitdir, old, req.ruleset);
    if (stored === undefined) {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `branch ${req.branch} (${old.slice(0, 12)}) has no rulesets/${req.ruleset}.json`, { data: { ruleset: req.ruleset, commit: old } });
    }
    if (stored.elementsEntries.length === 0) return { branch: req.branch, commit: old, previous: old, folded: 0, attempts: attempt };
    // The effective text as agents already have it, byte for byte: written as the new base, it
    // changes nothing they apply, so there is nothing for the validator to judge (composing it
    // is the check that the files still fit together).
    const files = { path: `rulesets/${req.ruleset}.json`, bytes: stored.base.bytes };
    const changes = stored.changes.map((c) => ({ path: `rulesets/${dir}/${c.file}`, bytes: c.bytes }));
    const text = req.compose ? await req.compose(files, changes) : Buffer.from(composeRulesetText(files, changes));
    const blob = await writeLooseObject(req.gitdir, 'blob', text, objectIdAlgorithm(old));
    const withBase = await replaceEntry(req.gitdir, stored.rulesetsTree, `${req.ruleset}.json`, `${stored.base.mode} blob ${blob}`);
    const rulesets = await replaceEntry(req.gitdir, withBase, dir, undefined);
    const tree = await replaceEntry(req.gitdir, `${old}^{tree}`, 'rulesets', `040000 tree ${rulesets}`);
    const n = stored.changes.length;
    const message = `${req.ruleset}: fold ${n} element change${n === 1 ? '' : 's'} into rulesets/${req.ruleset}.json\n\nrulesets/${dir}/ is removed; the effective ruleset is unchanged.\n\nRequested by: ${req.owner} via nft-sync set fold\n`;
    const commit = (await gitOutput(req.gitdir, ['commit-tree', tree, '-p', old, '-F', '-'], message, commitIdentity(req.owner))).trim();
    try {
      await updateRef(req.gitdir, ref, commit, old, `nft-sync fold ${req.ruleset} by ${req.owner}`);
      return { branch: req.branch, commit, previous: old, folded: n, attempts: attempt };
    } catch (err) {
      if ((await readBranch(req.gitdir, ref)) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
    }
  }
  throw new NftSyncError('NFTSYNC_ERR_ELEMENTS_CONFLICT', `branch ${req.branch} moved during each of ${maxAttempts} attempts to fold the element changes of ${req.ruleset}; nothing was changed, try again`, {
    data: { branch: req.branch, attempts: maxAttempts },
  });
}
