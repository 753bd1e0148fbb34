/**
 * `nft-sync rollback --track-tags PATTERN --to TAG`: roll a fleet that follows releases back by
 * publishing a NEW release, the next patch version above the highest matching tag, whose
 * `rulesets/` and `nft-sync.yaml` equal those at TAG: a new commit on the branch the highest
 * release came from (history kept) and an annotated tag on it. Agents move to it like to any
 * release; a tag never moves backwards, so signed-release agents (which refuse an older release
 * than the one in force) accept it.
 *
 * Where the work happens: here, in the CLI, with git over HTTP (a scratch bare clone, then one
 * atomic push of the branch and the tag), not in a server endpoint. A signed fleet needs the tag
 * signed with the operator's SSH key, and that key must never reach the server; the push goes
 * through the same token check and pre-receive validation as any push, so no new write path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSyncError } from '../shared/errors.js';
import { REPO_CONFIG_PATH } from '../shared/config/repo-config.js';
import { highestTag, nextPatchTag } from '../shared/release/semver.js';
import { git, gitUrl, remoteGitEnv } from './remote-git.js';
import { CLI_DEFAULTS } from './defaults.js';

/** Top-level entries a rollback restores (as server/git/rollback.ts). */
const RESTORED = ['rulesets', REPO_CONFIG_PATH];
const ATTEMPTS = CLI_DEFAULTS.rollbackAttempts;

export interface ReleaseRollbackRequest {
  /** The server's HTTP address (`--http`). */
  http: string;
  pattern: string;
  /** The release (or any revision) whose rulesets to publish again. */
  to: string;
  /** The branch for the new commit; default: the one branch holding the highest release. */
  branch?: string;
  /** SSH private key to sign the tag with (gpg.format=ssh). */
  signKey?: string;
  token?: string;
}

export type ReleaseRollbackResult =
  | { kind: 'published'; tag: string; commit: string; branch: string; highest: string; signed: boolean }
  | { kind: 'noop'; highest: string; commit: string }
  | { kind: 'unsigned'; tag: string; highest: string; commands: string[] };

/**
 * Publish the rollback release. Errors: NFTSYNC_ERR_REF_NOT_FOUND (no release matches, TO or
 * the branch missing), NFTSYNC_ERR_USAGE (the branch cannot be chosen, the next version does not
 * match the pattern), NFTSYNC_ERR_RULESET_NOT_FOUND (TO has no rulesets/), NFTSYNC_ERR_ROLLBACK_CONFLICT
 * (pushes kept landing), and remote-git.ts's (AUTH_REQUIRED, CONN_FAILED, PUSH_REFUSED, REPO_GIT_FAILED).
 */
export async function rollbackRelease(req: ReleaseRollbackRequest): Promise<ReleaseRollbackResult> {
  const url = gitUrl(req.http);
  const env = remoteGitEnv(req.token);
  const dir = await mkdtemp(join(tmpdir(), 'nft-sync-rollback-'));
  const repo = join(dir, 'rules.git');
  try {
    await git(undefined, ['clone', '--bare', '--quiet', url, repo], env);
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await git(repo, ['fetch', '--quiet', '--prune', '--force', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], env);
      try {
        return await attemptRollback(repo, url, env, req);
      } catch (err) {
        const lost = err instanceof NftSyncError && err.data?.rejection === 'moved';
        if (!lost) throw err;
        if (attempt >= ATTEMPTS) {
          throw new NftSyncError('NFTSYNC_ERR_ROLLBACK_CONFLICT', `the branch or the release tags moved during each of ${ATTEMPTS} attempts (pushes keep landing); nothing was published, try again`);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The config keys a signed tag sets with `-c` (listed for simple-git's config guard). */
const SIGNING_CONFIG_KEYS = ['gpg.format', 'user.signingkey'] as const;

async function attemptRollback(repo: string, url: string, env: Record<string, string>, req: ReleaseRollbackRequest): Promise<ReleaseRollbackResult> {
  const g = (args: string[], input?: string, extra: Record<string, string> = {}) => git(repo, args, { ...env, ...extra }, input).then((s) => s.trim());
  const tags = (await g(['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags'])).split('\n').filter(Boolean);
  const highest = highestTag(tags, req.pattern);
  if (highest === undefined) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no tag matching ${JSON.stringify(req.pattern)} is a release (e.g. v1.2.3): nothing to roll back`);
  const highestCommit = await g(['rev-parse', '--verify', '-q', `refs/tags/${highest}^{commit}`]);
  const target = await g(['rev-parse', '--verify', '-q', `${req.to}^{commit}`]).catch(() => '');
  if (!target) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no tag, branch or commit named ${JSON.stringify(req.to)} on the server`);
  const wanted = await restoredEntries(g, target);
  if (!wanted.some((l) => l.endsWith('\trulesets') && l.includes(' tree '))) {
    throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `${req.to} has no rulesets/ directory: nothing to roll back to`);
  }
  if ((await restoredEntries(g, highestCommit)).join('\n') === wanted.join('\n')) return { kind: 'noop', highest, commit: highestCommit };
  const next = nextPatchTag(highest)!;
  if (highestTag([next], req.pattern) !== next) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `the next release after ${highest} would be ${next}, which does not match ${JSON.stringify(req.pattern)}; tag the rollback by hand`);
  }
  const branch = req.branch ?? (await branchOf(g, highest, highestCommit));
  const head = await g(['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]).catch(() => '');
  if (!head) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch ${branch} on the server`);
  const signed = /^-----BEGIN (SSH|PGP) SIGNATURE-----$/m.test(await g(['cat-file', '-p', `refs/tags/${highest}`]).catch(() => ''));
  const ident = await identity(g, highest);
  // The branch keeps every other file as it is; only what chooses and holds the rules goes back.
  const kept = (await g(['ls-tree', '-z', head])).split('\0').filter((l) => l !== '' && !RESTORED.includes(l.slice(l.indexOf('\t') + 1)));
  const tree = await g(['mktree', '-z'], [...kept, ...wanted].map((l) => `${l}\0`).join(''));
  const sameTree = tree === (await g(['rev-parse', `${head}^{tree}`]));
  const subject = `Roll back rulesets to ${req.to} (${target.slice(0, 12)})`;
  const tagMessage = `${next}: ${subject}\n\nRestores rulesets/ and ${REPO_CONFIG_PATH} as of ${req.to} (${target}).\nHighest release before: ${highest}.\n`;
  if (signed && !req.signKey) return { kind: 'unsigned', tag: next, highest, commands: signCommands(url, branch, req.to, next, sameTree, subject, tagMessage) };
  const commit = sameTree
    ? head
    : await g(['commit-tree', tree, '-p', head, '-F', '-'], `${subject}\n\nRelease ${next} restores rulesets/ and ${REPO_CONFIG_PATH} as of ${req.to} (${target}).\nHighest release before: ${highest}.\nRequested via nft-sync rollback\n`, ident);
  const signing = req.signKey ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${req.signKey}`, 'tag', '-s'] : ['tag', '-a'];
  await git(repo, [...signing, next, '-F', '-', commit], { ...env, ...ident }, tagMessage, req.signKey ? SIGNING_CONFIG_KEYS : undefined);
  await g(['push', '--atomic', '--quiet', url, `${commit}:refs/heads/${branch}`, `refs/tags/${next}:refs/tags/${next}`]);
  return { kind: 'published', tag: next, commit, branch, highest, signed: Boolean(req.signKey) };
}

type G = (args: string[], input?: string, extra?: Record<string, string>) => Promise<string>;

/** The `ls-tree` lines of `rulesets` and nft-sync.yaml at `commit` (tree ids: equal lines, equal contents). */
async function restoredEntries(g: G, commit: string): Promise<string[]> {
  return (await g(['ls-tree', '-z', commit, '--', ...RESTORED])).split('\0').filter(Boolean).sort();
}

/** The one branch whose history holds the highest release; NFTSYNC_ERR_USAGE when not exactly one. */
async function branchOf(g: G, highest: string, commit: string): Promise<string> {
  const branches = (await g(['for-each-ref', '--contains', commit, '--format=%(refname:strip=2)', 'refs/heads'])).split('\n').filter(Boolean);
  if (branches.length === 1) return branches[0]!;
  const which = branches.length === 0 ? 'on no branch' : `on several branches (${branches.join(', ')})`;
  throw new NftSyncError('NFTSYNC_ERR_USAGE', `the highest release ${highest} is ${which}: give --branch BRANCH for the rollback commit`);
}

/**
 * Who the commit and tag are by: the operator's git identity when git has one; otherwise the
 * tagger of the highest release (for a signed fleet, the principal the agents' allowed-signers
 * file lists, which is what a signed tag's tagger email must be).
 */
async function identity(g: G, highest: string): Promise<Record<string, string>> {
  const configured = await g(['config', 'user.email']).catch(() => '');
  if (configured) return {};
  const [name, email] = (await g(['for-each-ref', '--format=%(taggername)%00%(taggeremail:trim)', `refs/tags/${highest}`])).split('\0');
  const n = name || 'nft-sync rollback';
  const e = email || 'nft-sync@nft-sync.invalid';
  return { GIT_AUTHOR_NAME: n, GIT_AUTHOR_EMAIL: e, GIT_COMMITTER_NAME: n, GIT_COMMITTER_EMAIL: e };
}

/** Single-quoted for a POSIX shell. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The commands that publish the same release by hand, signed with the operator's key (KEY). */
function signCommands(url: string, branch: string, to: string, next: string, sameTree: boolean, subject: string, tagMessage: string): string[] {
  const lines = [`git clone -q ${q(url)} nft-sync-rollback && cd nft-sync-rollback`, `git checkout -q ${q(branch)}`];
  if (!sameTree) {
    lines.push(`git rm -rq --ignore-unmatch -- rulesets ${REPO_CONFIG_PATH}`);
    lines.push(`git checkout ${q(to)} -- rulesets $(git ls-tree --name-only ${q(to)} -- ${REPO_CONFIG_PATH})`);
    lines.push(`git commit -q -m ${q(subject)}`);
  }
  // One -m per paragraph: each printed command stays on one line.
  const messages = tagMessage.trim().split('\n\n').map((p) => `-m ${q(p.replace(/\n/g, ' '))}`);
  lines.push(`git -c gpg.format=ssh -c user.signingkey=KEY tag -s ${q(next)} ${messages.join(' ')}`);
  lines.push(`git push --atomic origin ${q(branch)} ${q(`refs/tags/${next}`)}`);
  return lines;
}
