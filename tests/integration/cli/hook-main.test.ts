/**
 * cli/hook-main.ts: the entry the pre-receive hook execs, `nft-sync hook` without the rest of the
 * CLI (every push waits for this process to start): same exit codes (0 accept, 1 refuse, 2
 * usage) and lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../helpers/git-fixture.js';

/** Run cli/hook-main.ts with `args` in the bare repository `bare`, fed `input`. */
function hookMain(bare: string, args: string[], input: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/hook-main.ts', ...args], { env: { ...testGitEnv(), GIT_DIR: bare }, input, encoding: 'utf8', timeout: 30_000 });
}

test('hook-main pre-receive --no-load: 0 for a valid push, 1 with the reason for a bad one, 2 for another hook or a bad flag', async (t) => {
  const dir = tempDir(t, 'nft-sync-hookmain-');
  const bare = join(dir, 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  git(dir, ['clone', '-q', bare, 'c']);
  const clone = join(dir, 'c');
  const good = git(bare, ['rev-parse', 'main']);
  writeFileSync(join(clone, 'rulesets/default.json'), '[]');
  git(clone, ['commit', '-qam', 'bad']);
  const bad = git(clone, ['rev-parse', 'HEAD']);
  git(clone, ['push', '-q', 'origin', 'HEAD:refs/pending/bad']);
  const ok = hookMain(bare, ['pre-receive', '--no-load'], `${'0'.repeat(40)} ${good} refs/heads/x\n`);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /1 ruleset\(s\) valid/);
  const refused = hookMain(bare, ['pre-receive', '--no-load'], `${good} ${bad} refs/heads/main\n`);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /rulesets\/default\.json .*NFTSYNC_ERR_RULESET_/);
  for (const args of [['post-receive'], ['pre-receive', '--bogus']]) {
    const usage = hookMain(bare, args, '');
    assert.equal(usage.status, 2, usage.stderr);
    assert.match(usage.stderr, /^nft-sync: NFTSYNC_ERR_USAGE: /);
  }
});
