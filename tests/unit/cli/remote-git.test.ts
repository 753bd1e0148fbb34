/** cli/remote-git.ts: the server's git URL, git's environment (token as a header, never prompting), and git's failures as codes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { git, gitUrl, remoteGitEnv } from '../../../cli/remote-git.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

test('gitUrl: /git/rules.git on the API\'s address; a bad --http NFTSYNC_ERR_USAGE', () => {
  assert.equal(gitUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/git/rules.git');
  assert.equal(gitUrl('127.0.0.1:8080/ignored'), 'http://127.0.0.1:8080/git/rules.git');
  assert.throws(() => gitUrl('ftp://x'), { code: 'NFTSYNC_ERR_USAGE' });
});

test('remoteGitEnv: never prompts; a token becomes an Authorization: Basic header (any user, the token as password)', () => {
  assert.deepEqual(remoteGitEnv(undefined), { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' });
  const env = remoteGitEnv('s3cret');
  assert.equal(env.GIT_CONFIG_KEY_0, 'http.extraHeader');
  const basic = /^Authorization: Basic (.+)$/.exec(env.GIT_CONFIG_VALUE_0!)![1]!;
  assert.equal(Buffer.from(basic, 'base64').toString(), 'nft-sync:s3cret');
  assert.equal(env.GIT_CONFIG_COUNT, '1');
});

test('git: output of a command that works; an unreachable server NFTSYNC_ERR_CONN_FAILED; other failures NFTSYNC_ERR_REPO_GIT_FAILED', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-remote-git-');
  await git(undefined, ['init', '-q', '--bare', dir], remoteGitEnv(undefined));
  assert.equal((await git(dir, ['rev-parse', '--is-bare-repository'], remoteGitEnv(undefined))).trim(), 'true');
  await assert.rejects(git(dir, ['ls-remote', 'http://127.0.0.1:1/git/rules.git'], remoteGitEnv(undefined)), { code: 'NFTSYNC_ERR_CONN_FAILED' });
  await assert.rejects(git(dir, ['rev-parse', '--verify', 'no-such-ref'], remoteGitEnv(undefined)), { code: 'NFTSYNC_ERR_REPO_GIT_FAILED' });
});
