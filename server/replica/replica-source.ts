/**
 * What a replica's wire listener serves from: its mirror, plus the one thing a replica must know
 * that a primary need not, whether the mirror is behind an agent. An agent that failed over from
 * the primary (or from a fresher replica) may hold a commit this mirror has not fetched yet;
 * serving it the mirror's branch would move it back to an older revision.
 */
import { NftSyncError } from '../../shared/errors.js';
import type { RulesetRepository } from '../git/ruleset-repository.js';
import type { RulesetSource } from '../git/ruleset-source.js';
import type { GitMirror } from './git-mirror.js';

/**
 * The mirror's repository as a RulesetSource whose `behind(commit)` is true when `commit` is
 * not reachable from the mirror's branches and tags (then the mirror is asked to check the
 * primary at once). Errors of `behind`: the repository's, other than not found.
 */
export function replicaSource(repository: RulesetRepository, mirror: Pick<GitMirror, 'nudge'>): RulesetSource {
  return {
    resolveRef: (ref) => repository.resolveRef(ref),
    resolveTrackedTag: (pattern) => repository.resolveTrackedTag(pattern),
    readRuleset: (commit, name) => repository.readRuleset(commit, name),
    rulesetForAgent: (commit, agent) => repository.rulesetForAgent(commit, agent),
    readRawObject: (oid) => repository.readRawObject(oid),
    tagObjectId: (ref) => repository.tagObjectId(ref),
    async behind(commit) {
      try {
        await repository.resolveRef(commit);
        return false;
      } catch (err) {
        if (!(err instanceof NftSyncError) || err.code !== 'NFTSYNC_ERR_REF_NOT_FOUND') throw err;
        mirror.nudge();
        return true;
      }
    },
  };
}
