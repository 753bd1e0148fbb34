/**
 * A push whose ruleset holds a number that would not reach the hosts as written is refused by
 * the real pre-receive hook (stock git client, file-path remote), with the number's JSON pointer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../helpers/git-fixture.js';

test('the pre-receive hook refuses a quota of 9007199254740993 and names /nftables/2/rule/expr/0/quota/val', async (t) => {
  const dir = tempDir(t);
  const bare = join(dir, 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  git(dir, ['clone', '-q', bare, 'c']);
  const clone = join(dir, 'c');
  const ruleset = {
    nftables: [
      { table: { family: 'inet', name: 'q' } },
      { chain: { family: 'inet', table: 'q', name: 'c' } },
      { rule: { family: 'inet', table: 'q', chain: 'c', expr: [{ quota: { val: 'VAL', val_unit: 'bytes' } }, { drop: null }] } },
    ],
  };
  writeFileSync(join(clone, 'rulesets/q.json'), JSON.stringify(ruleset, null, 2).replace('"VAL"', '9007199254740993'));
  git(clone, ['add', '-A']);
  git(clone, ['commit', '-qm', 'quota']);
  const before = git(bare, ['rev-parse', 'main']);
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('git', ['push', 'origin', 'HEAD:main'], { cwd: clone, env: testGitEnv(), encoding: 'utf8' }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /remote: nft-sync: refs\/heads\/main [0-9a-f]{12}: rulesets\/q\.json .*NFTSYNC_ERR_RULESET_NUMBER_INEXACT: ruleset \/nftables\/2\/rule\/expr\/0\/quota\/val: the number 9007199254740993 would reach nft as 9007199254740992/);
  assert.equal(git(bare, ['rev-parse', 'main']), before, 'nothing was pushed');
});
