/**
 * The commits that changed ruleset NAME (`rulesets/NAME.json` or its element change files
 * `rulesets/NAME.elements/`), newest first, through `git log` run by simple-git (one process;
 * git's own path-limited history walk with its commit-graph is faster than walking trees in
 * JavaScript once histories grow).
 */
import { NftSyncError } from '../../shared/errors.js';
import type { RulesetRevision } from '../../shared/http/http-api.js';
import { assertRulesetName, isObjectId } from '../../shared/ruleset/names.js';
import { gitClient } from '../../host/run-git.js';

/** A commit that changed a ruleset (its schema: shared/http/http-api.ts, RulesetRevision). */
export type Revision = RulesetRevision;

/** Between the fields of a commit (a control character no name or date holds). */
const FIELD = '\x1f';

/**
 * Up to `limit` commits reachable from `commit` (a full id) that changed `rulesets/NAME.json` or
 * a file under `rulesets/NAME.elements/` (an element change made through the API),
 * newest first (following history as `git log -- PATH` does, without following renames).
 * Errors: NFTSYNC_ERR_RULESET_NAME_INVALID, NFTSYNC_ERR_REF_INVALID (not a full id),
 * NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function rulesetRevisions(gitdir: string, commit: string, name: string, limit: number): Promise<Revision[]> {
  assertRulesetName(name);
  if (!isObjectId(commit)) throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `${JSON.stringify(commit.slice(0, 80))} is not a full commit id`, { data: { ref: commit.slice(0, 80) } });
  const path = `rulesets/${name}.json`;
  try {
    // Path-limited as `git log -- PATH` is, not simple-git's `file` option (that adds --follow).
    const log = await gitClient({ gitdir }, 'git log').log<{ commit: string; name: string; email: string; date: string; message: string }>({
      format: { commit: '%H', name: '%an', email: '%ae', date: '%aI', message: '%B' },
      splitter: FIELD,
      maxCount: limit,
      [commit]: null,
      '--': null,
      [path]: null,
      [`rulesets/${name}.elements`]: null,
    });
    return log.all.map((c) => ({ commit: c.commit, author: { name: c.name, email: c.email }, date: c.date, message: c.message.replace(/\n+$/, '') }));
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
  }
}
