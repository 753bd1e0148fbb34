import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import type { RollbackAnswer } from '../../shared/http/http-api.js';
import { assertTagPattern } from '../../shared/release/semver.js';
import { callApi } from '../api-client.js';
import { str, type Command } from '../command.js';
import { rollbackRelease } from '../rollback-release.js';

export const rollbackCommand: Command = {
  name: 'rollback',
  summary:
    'Roll back: --branch B: a new commit on B whose rulesets equal those at REV (prints its id); --track-tags PATTERN: publish the next patch release with the rulesets of TAG (prints the tag and its commit). Token from NFT_SYNC_TOKEN.',
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP address, e.g. http://127.0.0.1:8080 (its API, and git at /git/rules.git)' },
    branch: { type: 'string', description: 'branch to roll back (e.g. main); with --track-tags, the branch for the release commit (default: the one holding the highest release)' },
    'track-tags': { type: 'string', description: "roll back a fleet that follows releases (e.g. 'v*'): publish the next patch version above the highest matching tag" },
    to: { type: 'string', required: true, description: 'revision whose rulesets to restore (a release tag, commit id, branch)' },
    'sign-key': { type: 'string', description: 'with --track-tags: SSH private key to sign the release tag with (needed when the releases are signed)' },
  },
  async run(values) {
    const http = str(values, 'http')!;
    const to = str(values, 'to')!;
    const pattern = str(values, 'track-tags');
    const branch = str(values, 'branch');
    if (pattern === undefined) {
      if (branch === undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'rollback: give --branch BRANCH, or --track-tags PATTERN for a fleet that follows releases');
      if (str(values, 'sign-key') !== undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'rollback: --sign-key goes with --track-tags (a branch rollback makes no tag)');
      return rollbackBranch(http, branch, to);
    }
    assertTagPattern(pattern);
    const r = await rollbackRelease({ http, pattern, to, branch, signKey: str(values, 'sign-key'), token: process.env.NFT_SYNC_TOKEN || undefined });
    if (r.kind === 'noop') {
      process.stdout.write(`${r.highest} ${r.commit}\n`);
      process.stderr.write(`nft-sync: nothing to roll back: ${r.highest}, the highest release matching ${pattern}, already has the rulesets and nft-sync.yaml of ${to}\n`);
      return 0;
    }
    if (r.kind === 'unsigned') {
      process.stdout.write(`${r.commands.join('\n')}\n`);
      throw new NftSyncError(
        'NFTSYNC_ERR_ROLLBACK_UNSIGNED',
        `releases matching ${pattern} are signed (${r.highest} is) and agents that check signatures would refuse an unsigned ${r.tag}; nothing was published. Give --sign-key FILE, or run the commands above with KEY your signing key (your git user.email must be the principal the agents allow)`,
      );
    }
    process.stdout.write(`${r.tag} ${r.commit}\n`);
    process.stderr.write(`# ${r.tag}${r.signed ? ' (signed)' : ''} on ${r.branch}: the rulesets of ${to}; the highest release was ${r.highest}\n`);
    return 0;
  },
};

/** The branch rollback through the API; a rollback that would change nothing exits 0 and says so. */
async function rollbackBranch(http: string, branch: string, to: string): Promise<number> {
  try {
    const r = await callApi<RollbackAnswer>(http, 'POST', '/api/v1/rollback', { branch, to });
    process.stdout.write(`${r.commit}\n`);
    process.stderr.write(`# ${branch}: ${r.previous.slice(0, 12)} -> ${r.commit.slice(0, 12)} (rulesets of ${r.target.slice(0, 12)})\n`);
    return 0;
  } catch (err) {
    const e = toNftSyncError(err);
    if (e.code !== 'NFTSYNC_ERR_ROLLBACK_NOOP') throw err;
    const head = typeof e.data?.commit === 'string' ? e.data.commit : undefined;
    if (head) process.stdout.write(`${head}\n`);
    process.stderr.write(`nft-sync: nothing to roll back: ${e.message.replace(/: nothing to roll back$/, '')}\n`);
    return 0;
  }
}
