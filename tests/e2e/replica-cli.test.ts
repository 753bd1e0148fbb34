/**
 * `nft-sync server --mirror-of URL` as a process, against a primary process that needs a token
 * for reads: the replica authenticates with --mirror-token-file as any client, refuses a push
 * naming the primary, and bad flags are usage errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { tempDir, testGitEnv } from '../helpers/git-fixture.js';

const TOKEN = 'feedbeeffeedbeeffeedbeef';

function git(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', args, { cwd, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8' }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
}

describe('server --mirror-of', () => {
  test('bad --mirror-of and a lone --mirror-token-file are usage errors', async (t) => {
    const dir = tempDir(t);
    const bad = await runCli(['server', '--repo', join(dir, 'm.git'), '--listen', '127.0.0.1:0', '--mirror-of', 'primary:7401']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE: --mirror-of must be the primary's git URL/);
    const lone = await runCli(['server', '--repo', join(dir, 'm.git'), '--listen', '127.0.0.1:0', '--mirror-token-file', join(dir, 't')]);
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--mirror-token-file goes with --mirror-of/);
  });

  test('a replica of a primary that needs read tokens mirrors it with --mirror-token-file and refuses pushes', async (t) => {
    const dir = tempDir(t);
    const repo = join(dir, 'r.git');
    assert.equal((await runCli(['init', repo])).code, 0);
    writeFileSync(join(dir, 'tokens'), `${TOKEN} replica\n`);
    const [port, http, rport, rhttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const primary = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--token-file', join(dir, 'tokens'), '--read-token-required', '--log-level', 'info']);
    await primary.waitFor(/http listening/);
    const url = `http://127.0.0.1:${http}/git/rules.git`;
    const mirror = join(dir, 'mirror.git');
    const denied = await runCli(['server', '--repo', mirror, '--listen', `127.0.0.1:${rport}`, '--mirror-of', url], { env: { ...process.env, NFT_SYNC_TOKEN: '' } });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /NFTSYNC_ERR_AUTH_REQUIRED: the primary .* needs a token/);
    const replica = startCli(t, ['server', '--repo', mirror, '--listen', `127.0.0.1:${rport}`, '--http', `127.0.0.1:${rhttp}`, '--mirror-of', url, '--mirror-token-file', join(dir, 'tokens'), '--log-level', 'info']);
    await replica.waitFor(/http listening/);
    assert.match(replica.stdout(), /read-only replica: following the primary/);
    assert.equal((await git(['clone', '-q', `http://127.0.0.1:${rhttp}/git/rules.git`, 'c'], dir)).code, 0, 'reads from the replica');
    const clone = join(dir, 'c');
    writeFileSync(join(clone, 'notes.txt'), 'x\n');
    assert.equal((await git(['add', '-A'], clone)).code, 0);
    assert.equal((await git(['commit', '-qm', 'notes'], clone)).code, 0);
    const pushed = await git(['push', `http://ci:${TOKEN}@127.0.0.1:${rhttp}/git/rules.git`, 'HEAD:main'], clone);
    assert.notEqual(pushed.code, 0);
    assert.match(pushed.stderr, new RegExp(`NFTSYNC_ERR_READ_ONLY_REPLICA: this server is a read-only replica of ${url.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(replica.stdout() + replica.stderr(), new RegExp(TOKEN), 'the token never reaches the log');
  });
});
