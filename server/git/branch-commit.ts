/**
 * What the server's own commits share (rollback, element changes, published live changes): git
 * run with failures as one error code, a branch's current commit, and the identity a commit is
 * made under. IO: the git CLI through host/run-git.ts.
 */
import { NftSyncError } from '../../shared/errors.js';
import { runGit } from '../../host/run-git.js';
import { readRef } from './read-refs.js';

/** git's stdout for `args` in `gitdir`. Errors: NFTSYNC_ERR_REPO_GIT_FAILED (git failed or could not run). */
export async function gitOutput(gitdir: string, args: string[], input?: string, env?: Record<string, string>): Promise<string> {
  try {
    return (await runGit(args, { gitdir, input, env })).stdout;
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
  }
}

/**
 * The commit `ref` (or any revision) points at now, or undefined when it names none. A branch
 * (`refs/heads/…`) is read from its file or `packed-refs` in process (no git started: in a server
 * holding a big set in memory each start costs 15-30 ms); anything else asks `git rev-parse`.
 * A branch is not peeled: one whose file was written by hand (git refuses it) may name a tag
 * object, a blob or a missing object where `git rev-parse BRANCH^{commit}` gives the tag's
 * commit or nothing. A caller building a commit on it checks the id is a commit (element-tips.ts
 * compares readStoredRuleset's peeled commit; `git commit-tree -p` refuses anything else).
 * Never throws.
 */
export async function readBranch(gitdir: string, ref: string): Promise<string | undefined> {
  if (ref.startsWith('refs/heads/') && !ref.split('/').some((p) => p === '..' || p === '' || p === '.')) {
    const stored = await readRef(gitdir, ref).catch(() => undefined);
    if (stored !== undefined) return stored.oid;
  }
  try {
    return (await runGit(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { gitdir })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The environment that makes `author` (a token's owner or an agent's name) the commit's author
 * and nft-sync its committer; a name without '@' gets an address under nft-sync.invalid. Pure.
 */
export function commitIdentity(author: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author,
    GIT_AUTHOR_EMAIL: author.includes('@') ? author : `${author}@nft-sync.invalid`,
    GIT_COMMITTER_NAME: 'nft-sync',
    GIT_COMMITTER_EMAIL: 'nft-sync@nft-sync.invalid',
  };
}

/**
 * The tree made of `tree`'s entries (any tree-ish: `COMMIT^{tree}`, `COMMIT:rulesets`) with the
 * entry `name` replaced by (or given) `entry` (`MODE TYPE ID`), or removed when `entry` is
 * undefined; its id. Errors: NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function replaceEntry(gitdir: string, tree: string, name: string, entry: string | undefined): Promise<string> {
  const kept = (await gitOutput(gitdir, ['ls-tree', '-z', tree])).split('\0').filter((l) => l !== '' && l.slice(l.indexOf('\t') + 1) !== name);
  const lines = entry === undefined ? kept : [...kept, `${entry}\t${name}`];
  return (await gitOutput(gitdir, ['mktree', '-z'], lines.map((l) => `${l}\0`).join(''))).trim();
}
