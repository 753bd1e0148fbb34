/**
 * server/push/pre-receive-check.ts in process: a push's `<old> <new> <ref>` lines checked against
 * a real repository, lines for the pusher written through `write`, 0 to accept and 1 to refuse.
 * With nft 'off' (JSON, schema and nft-sync.yaml only); the nft load is pre-receive-hook's.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRepository } from '../../../../server/git/init-repository.js';
import { preReceiveCheck } from '../../../../server/push/pre-receive-check.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('preReceiveCheck: a valid update 0 with a summary; a bad ruleset and a bad nft-sync.yaml 1, each problem on its line with its code; malformed input throws', async (t) => {
  const dir = tempDir(t, 'nft-sync-prc-');
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  git(dir, ['clone', '-q', bare, 'c']);
  const clone = join(dir, 'c');
  const good = git(bare, ['rev-parse', 'main']);
  writeFileSync(join(clone, 'rulesets/default.json'), '{"nftables": [{"table": {"family": "inet"}}]}');
  writeFileSync(join(clone, 'nft-sync.yaml'), 'agents: 7\n');
  git(clone, ['add', '-A']);
  git(clone, ['commit', '-qm', 'bad']);
  const bad = git(clone, ['rev-parse', 'HEAD']);
  git(clone, ['push', '-q', 'origin', 'HEAD:refs/pending/bad']);
  const check = async (input: string) => {
    const lines: string[] = [];
    const code = await preReceiveCheck(input, { gitdir: bare, gitEnv: {}, nft: 'off', write: (l) => lines.push(l) });
    return { code, lines };
  };
  const ok = await check(`${'0'.repeat(40)} ${good} refs/heads/x\n`);
  assert.equal(ok.code, 0, ok.lines.join('\n'));
  assert.ok(ok.lines.every((l) => l.startsWith('nft-sync: ')));
  assert.match(ok.lines.join('\n'), /1 ruleset\(s\) valid/);
  const refused = await check(`${good} ${bad} refs/heads/main\n`);
  assert.equal(refused.code, 1);
  assert.ok(refused.lines.some((l) => /rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA/.test(l)), refused.lines.join('\n'));
  assert.ok(refused.lines.some((l) => /nft-sync\.yaml.*NFTSYNC_ERR_REPO_CONFIG_INVALID/.test(l)), refused.lines.join('\n'));
  assert.ok(refused.lines.every((l) => !l.includes('\n')), 'one line per problem');
  await assert.rejects(check('not a ref update\n'));
});
