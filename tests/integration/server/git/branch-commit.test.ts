/** server/git/branch-commit.ts on a real repository made by the stock git client. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitIdentity, gitOutput, readBranch } from '../../../../server/git/branch-commit.js';
import { expectCode } from '../../../helpers/expect-code.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

test('branch-commit: a commit made under commitIdentity, read back by readBranch; git failures carry REPO_GIT_FAILED', async (t) => {
  const gitdir = join(makeTempDir(t, 'nft-sync-branch-commit-'), 'r.git');
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  const blob = (await gitOutput(gitdir, ['hash-object', '-w', '--stdin'], 'x\n')).trim();
  const tree = (await gitOutput(gitdir, ['mktree'], `100644 blob ${blob}\tf\n`)).trim();
  const commit = (await gitOutput(gitdir, ['commit-tree', tree, '-m', 'first'], undefined, commitIdentity('alice'))).trim();
  await gitOutput(gitdir, ['update-ref', 'refs/heads/main', commit]);
  assert.equal(await readBranch(gitdir, 'refs/heads/main'), commit);
  assert.equal(await readBranch(gitdir, 'refs/heads/nope'), undefined);
  assert.equal((await gitOutput(gitdir, ['log', '-1', '--format=%an <%ae> / %cn <%ce>', 'main'])).trim(), 'alice <alice@nft-sync.invalid> / nft-sync <nft-sync@nft-sync.invalid>');
  assert.equal(commitIdentity('bob@example.org').GIT_AUTHOR_EMAIL, 'bob@example.org');
  await expectCode(gitOutput(gitdir, ['cat-file', 'blob', '0'.repeat(40)]), 'NFTSYNC_ERR_REPO_GIT_FAILED');
});
