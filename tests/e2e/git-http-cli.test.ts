/**
 * `nft-sync server --http --token-file` as a process: the token file is read once at start (a
 * bad one stops the server with NFTSYNC_ERR_CONFIG_INVALID), and a push over HTTP to a
 * repository made by `nft-sync init` needs one of its tokens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { tempDir, testGitEnv } from '../helpers/git-fixture.js';

const TOKEN = 'f00dfacef00dfacef00dface';

function git(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', args, { cwd, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8' }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
}

describe('server --http --token-file', () => {
  test('a malformed token file stops the server at start', async (t) => {
    const dir = tempDir(t);
    assert.equal((await runCli(['init', join(dir, 'r.git')])).code, 0);
    writeFileSync(join(dir, 'tokens'), 'short\n');
    const r = await runCli(['server', '--repo', join(dir, 'r.git'), '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--token-file', join(dir, 'tokens')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NFTSYNC_ERR_CONFIG_INVALID: --token-file .*line 1/);
    assert.doesNotMatch(r.stdout + r.stderr, /short/, 'the token is in neither the log nor the error');
    const missing = await runCli(['server', '--repo', join(dir, 'r.git'), '--listen', '127.0.0.1:0', '--token-file', join(dir, 'nope')]);
    assert.match(missing.stderr, /NFTSYNC_ERR_CONFIG_INVALID: --token-file .*cannot be read/);
  });

  test('clone is open, push needs the token', async (t) => {
    const dir = tempDir(t);
    const repo = join(dir, 'r.git');
    assert.equal((await runCli(['init', repo])).code, 0);
    writeFileSync(join(dir, 'tokens'), `# ci\n${TOKEN} ci-bot\n`);
    const [port, http] = [await freePort(), await freePort()];
    const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--token-file', join(dir, 'tokens'), '--log-level', 'info']);
    await server.waitFor(/http listening/);
    const url = `http://127.0.0.1:${http}/git/rules.git`;
    assert.equal((await git(['clone', '-q', url, 'c'], dir)).code, 0);
    const clone = join(dir, 'c');
    writeFileSync(join(clone, 'notes.txt'), 'x\n');
    assert.equal((await git(['add', '-A'], clone)).code, 0);
    assert.equal((await git(['commit', '-qm', 'notes'], clone)).code, 0);
    assert.notEqual((await git(['push', 'origin', 'HEAD:main'], clone)).code, 0);
    const ok = await git(['push', `http://ci:${TOKEN}@127.0.0.1:${http}/git/rules.git`, 'HEAD:main'], clone);
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(server.stdout() + server.stderr(), new RegExp(TOKEN), 'the token never reaches the log');
  });
});
