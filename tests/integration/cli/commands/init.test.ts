/** cli/commands/init.ts: `nft-sync init DIR` makes a bare repository from repo-template/ with its pre-receive hook. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

test('init DIR: a bare repository, one commit on main holding repo-template/, an executable pre-receive hook; the commit printed', async (t) => {
  const dir = join(makeTempDir(t, 'nft-sync-init-'), 'rules.git');
  const r = await runCli(['init', dir]);
  assert.equal(r.code, 0, r.stderr);
  const git = (...args: string[]) => execFileSync('git', ['--git-dir', dir, ...args], { encoding: 'utf8' }).trim();
  const head = git('rev-parse', 'main');
  assert.equal(r.stdout, `initialised ${dir} at ${head} (branch main)\n`);
  assert.equal(git('rev-parse', '--is-bare-repository'), 'true');
  assert.equal(git('rev-list', '--count', 'main'), '1');
  assert.equal(git('show', 'main:rulesets/default.json'), readFileSync('repo-template/rulesets/default.json', 'utf8').trim());
  assert.ok((statSync(join(dir, 'hooks', 'pre-receive')).mode & 0o111) !== 0, 'the hook is executable');
  const again = await runCli(['init', dir]);
  assert.notEqual(again.code, 0, 'an existing repository is not overwritten');
  assert.equal(git('rev-parse', 'main'), head);
});
