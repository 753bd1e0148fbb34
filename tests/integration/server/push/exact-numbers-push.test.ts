/**
 * A ruleset holding a number that would not reach the hosts as written is refused with the
 * number's JSON pointer on the ways in: a push through the real pre-receive hook (stock git
 * client, file-path remote) and `nft-sync import` (real nft in a scratch namespace).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { importRuleset } from '../../../../server/import/import-ruleset.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { runCli } from '../../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';

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

test('nft-sync import refuses a quota of 9007199254740993 with the pointer in nft\'s listing, and imports 1152921504606847000 exactly', async () => {
  const text = (v: string) => `table inet q {\n  chain c {\n    quota over ${v} bytes drop\n  }\n}\n`;
  await assert.rejects(importRuleset(text('9007199254740993')), (e: unknown) => {
    assert.ok(e instanceof NftSyncError);
    assert.equal(e.code, 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT');
    assert.equal(e.data?.pointer, '/nftables/3/rule/expr/0/quota/val');
    return true;
  });
  const ok = await importRuleset(text('1152921504606847000'));
  assert.match(JSON.stringify(ok.ruleset), /"val":1152921504606847000/);
});
