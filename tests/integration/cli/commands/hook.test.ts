/**
 * cli/commands/hook.ts: `nft-sync hook pre-receive` as git runs it (GIT_DIR set, `<old> <new> <ref>`
 * lines on stdin): exit 0 for a valid push, 1 with the reasons on stderr for a bad one; any
 * other hook name is a usage error. --no-load: JSON, schema and nft-sync.yaml only (no nft).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';

/** `nft-sync hook ARGS` in the bare repository `bare`, fed `input`. */
function hook(bare: string, args: string[], input: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'hook', ...args], { env: { ...testGitEnv(), GIT_DIR: bare }, input, encoding: 'utf8', timeout: 30_000 });
}

test('hook pre-receive --no-load: a valid commit passes, a bad ruleset is refused with its code; hook post-receive exit 2', async (t) => {
  const dir = tempDir(t, 'nft-sync-hook-');
  const bare = join(dir, 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  git(dir, ['clone', '-q', bare, 'c']);
  const clone = join(dir, 'c');
  const good = git(bare, ['rev-parse', 'main']);
  writeFileSync(join(clone, 'rulesets/default.json'), '{"nftables": [{"table": {"family": "inet"}}]}');
  git(clone, ['commit', '-qam', 'bad']);
  const bad = git(clone, ['rev-parse', 'HEAD']);
  git(clone, ['push', '-q', 'origin', 'HEAD:refs/pending/bad']);
  // The bad commit's objects are now in the bare repository (under a ref the hook never judges).
  const zero = '0'.repeat(40);
  const ok = hook(bare, ['pre-receive', '--no-load'], `${zero} ${good} refs/heads/x\n`);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /1 ruleset\(s\) valid/);
  const refused = hook(bare, ['pre-receive', '--no-load'], `${good} ${bad} refs/heads/main\n`);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /refs\/heads\/main [0-9a-f]{12}: rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA/);
  const other = hook(bare, ['post-receive'], '');
  assert.equal(other.status, 2);
  assert.match(other.stderr, /NFTSYNC_ERR_USAGE: hook: only pre-receive is implemented/);
});
