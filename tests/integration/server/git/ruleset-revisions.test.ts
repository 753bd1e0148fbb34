/** server/git/ruleset-revisions.ts: the commits that changed one ruleset file, newest first, with author, date and message. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rulesetRevisions } from '../../../../server/git/ruleset-revisions.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('rulesetRevisions: only commits touching rulesets/NAME.json, newest first, up to the limit; bad name or commit id their codes', async (t) => {
  const dir = tempDir(t, 'nft-sync-revs-');
  git(dir, ['init', '-q', '-b', 'main']);
  mkdirSync(join(dir, 'rulesets'));
  const commit = (file: string, text: string, message: string) => {
    writeFileSync(join(dir, file), text);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', message]);
    return git(dir, ['rev-parse', 'HEAD']);
  };
  const a = commit('rulesets/web.json', '{}', 'web: first\n\nwith a body');
  commit('rulesets/db.json', '{}', 'db only');
  const c = commit('rulesets/web.json', '{"nftables":[]}', 'web: second');
  const head = git(dir, ['rev-parse', 'HEAD']);
  const gitdir = join(dir, '.git');
  const revs = await rulesetRevisions(gitdir, head, 'web', 10);
  assert.deepEqual(revs.map((r) => r.commit), [c, a]);
  assert.deepEqual(revs[1]!.author, { name: 'Test', email: 'test@example.invalid' });
  assert.equal(revs[1]!.message, 'web: first\n\nwith a body');
  assert.match(revs[0]!.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  assert.deepEqual((await rulesetRevisions(gitdir, head, 'web', 1)).map((r) => r.commit), [c]);
  assert.deepEqual(await rulesetRevisions(gitdir, a, 'db', 10), [], 'not yet at that commit');
  await assert.rejects(rulesetRevisions(gitdir, head, '../x', 10), { code: 'NFTSYNC_ERR_RULESET_NAME_INVALID' });
  await assert.rejects(rulesetRevisions(gitdir, 'main', 'web', 10), { code: 'NFTSYNC_ERR_REF_INVALID' });
  await assert.rejects(rulesetRevisions(gitdir, 'f'.repeat(40), 'web', 10), { code: 'NFTSYNC_ERR_REPO_GIT_FAILED' });
});

test('rulesetRevisions: element changes (rulesets/NAME.elements/) are revisions of the ruleset too', async (t) => {
  const dir = tempDir(t, 'nft-sync-revs-');
  git(dir, ['init', '-q', '-b', 'main']);
  mkdirSync(join(dir, 'rulesets/web.elements'), { recursive: true });
  const commit = (file: string, text: string, message: string) => {
    writeFileSync(join(dir, file), text);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', message]);
    return git(dir, ['rev-parse', 'HEAD']);
  };
  const a = commit('rulesets/web.json', '{}', 'web base');
  const b = commit('rulesets/web.elements/000001.json', '{}', 'web: set inet f block: +1 -0 elements');
  commit('rulesets/web.elementsx', '{}', 'not a change file of web');
  commit('rulesets/db.json', '{}', 'db only');
  const revs = await rulesetRevisions(join(dir, '.git'), git(dir, ['rev-parse', 'HEAD']), 'web', 10);
  assert.deepEqual(revs.map((r) => r.commit), [b, a]);
});
