/**
 * The pre-receive hook: written by `nft-sync init`, installed or updated by the server at start,
 * and a hook the operator wrote is never overwritten.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { HOOK_MARKER, installPreReceiveHook, preReceiveHookScript } from '../../../../server/push/pre-receive-hook.js';
import { startServer } from '../../../../server/start-server.js';
import { runCli } from '../../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';

function push(cwd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', ['push', ...args], { cwd, env: testGitEnv(), encoding: 'utf8' }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
}

describe('pre-receive hook installation', () => {
  test('nft-sync init writes the hook, and it refuses a bad push over a file path', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'rules.git');
    const init = await runCli(['init', bare]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(readFileSync(join(bare, 'hooks/pre-receive'), 'utf8'), preReceiveHookScript());
    git(dir, ['clone', '-q', bare, 'c']);
    const clone = join(dir, 'c');
    writeFileSync(join(clone, 'rulesets/default.json'), '{"nftables": [{"table": {"family": "inet"}}]}');
    git(clone, ['commit', '-qam', 'bad']);
    const before = git(bare, ['rev-parse', 'main']);
    const r = await push(clone, ['origin', 'HEAD:main']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /remote: nft-sync: refs\/heads\/main [0-9a-f]{12}: rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA/);
    assert.equal(git(bare, ['rev-parse', 'main']), before);
  });

  test('without root the hook skips the nft load, says so, and still checks JSON and schema', async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const bare = join(dir, 'rules.git');
    assert.equal((await runCli(['init', bare])).code, 0);
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const head = git(bare, ['rev-parse', 'main']);
    const asNobody = (input: string) =>
      spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'env', 'HOME=/tmp', 'GIT_DIR=.', './hooks/pre-receive'], { cwd: bare, input, encoding: 'utf8' });
    const good = asNobody(`${'0'.repeat(40)} ${head} refs/heads/x\n`);
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stderr, /warning: rulesets not loaded into nft \(a scratch network namespace needs root/);
    assert.match(good.stderr, /1 ruleset\(s\) valid/);
  });

  test('the server installs the hook into an existing repository and updates its own, but leaves a foreign one', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'rules.git');
    assert.equal((await runCli(['init', bare])).code, 0);
    const hook = join(bare, 'hooks/pre-receive');
    writeFileSync(hook, `#!/bin/sh\n${HOOK_MARKER}: an older version\nexit 0\n`);
    const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
    await server.close();
    assert.equal(readFileSync(hook, 'utf8'), preReceiveHookScript());
    assert.equal(await installPreReceiveHook(bare), 'unchanged');
    writeFileSync(hook, '#!/bin/sh\nexec /usr/local/bin/my-own-checks\n');
    assert.equal(await installPreReceiveHook(bare), 'foreign');
    assert.match(readFileSync(hook, 'utf8'), /my-own-checks/);
  });
});
