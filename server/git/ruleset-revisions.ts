/**
 * The commits that changed `rulesets/NAME.json`, newest first, through `git log` (one process;
 * git's own path-limited history walk with its commit-graph is faster than walking trees in
 * JavaScript once histories grow).
 */
import { NftSyncError } from '../../shared/errors.js';
import type { RulesetRevision } from '../../shared/http/http-api.js';
import { assertRulesetName, isObjectId } from '../../shared/ruleset/names.js';
import { runGit } from '../../host/run-git.js';

/** A commit that changed a ruleset (its schema: shared/http/http-api.ts, RulesetRevision). */
export type Revision = RulesetRevision;

const FIELD = '\x1f';
const RECORD = '\x1e';

/**
 * Up to `limit` commits reachable from `commit` (a full id) that changed `rulesets/NAME.json`,
 * newest first (following history as `git log -- PATH` does, without following renames).
 * Errors: NFTSYNC_ERR_RULESET_NAME_INVALID, NFTSYNC_ERR_REF_INVALID (not a full id),
 * NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function rulesetRevisions(gitdir: string, commit: string, name: string, limit: number): Promise<Revision[]> {
  assertRulesetName(name);
  if (!isObjectId(commit)) throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `${JSON.stringify(commit.slice(0, 80))} is not a full commit id`, { data: { ref: commit.slice(0, 80) } });
  let stdout: string;
  try {
    ({ stdout } = await runGit(['--git-dir', gitdir, 'log', `-n${limit}`, `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B${RECORD}`, commit, '--', `rulesets/${name}.json`]));
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
  }
  return stdout
    .split(RECORD)
    .map((r) => r.replace(/^\n/, ''))
    .filter((r) => r !== '')
    .map((r) => {
      const [id, an, ae, date, ...msg] = r.split(FIELD);
      return { commit: id!, author: { name: an!, email: ae! }, date: date!, message: msg.join(FIELD).replace(/\n+$/, '') };
    });
}
