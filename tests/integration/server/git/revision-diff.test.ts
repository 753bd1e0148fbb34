/** server/git/revision-diff.ts: rulesets added, removed and changed between two revisions of a real repository, with parses cached by blob. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { diffRevisions, parsedRulesetCache } from '../../../../server/git/revision-diff.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

test('diffRevisions: added, removed, changed (with the object diff), identical when only the formatting changed; --ruleset limits it; parses are cached by blob', async (t) => {
  const f = await startServerFixture(t);
  const repo = f.server.repository;
  const c1 = f.push({ 'rulesets/web.json': DEFAULT, 'rulesets/old.json': DEFAULT }, 'web and old');
  const c2 = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222'), 'rulesets/web.json': JSON.stringify(JSON.parse(DEFAULT)), 'rulesets/new.json': DEFAULT }, 'change');
  f.git(['rm', '-q', 'rulesets/old.json']);
  f.git(['commit', '-q', '-m', 'rm old']);
  f.git(['push', '-q', 'origin', 'HEAD:main']);
  const cache = parsedRulesetCache();
  const d = await diffRevisions(repo, c1, 'main', undefined, cache);
  assert.deepEqual(d.from, { ref: c1, commit: c1 });
  assert.equal(d.to.ref, 'main');
  assert.deepEqual(d.rulesets.added, ['new']);
  assert.deepEqual(d.rulesets.removed, ['old']);
  assert.deepEqual(d.rulesets.changed.map((c) => [c.name, c.identical]), [['default', false], ['web', true]]);
  assert.match(JSON.stringify(d.rulesets.changed[0]!.diff), /2222/);
  const cached = cache.size;
  assert.ok(cached > 0, 'the parsed rulesets are kept');
  await diffRevisions(repo, c1, 'main', undefined, cache);
  assert.equal(cache.size, cached, 'a second diff parses nothing new');
  const only = await diffRevisions(repo, c1, c2, 'web');
  assert.deepEqual([only.rulesets.added, only.rulesets.removed, only.rulesets.changed.map((c) => c.name)], [[], [], ['web']]);
  assert.deepEqual((await diffRevisions(repo, 'main', 'main')).rulesets, { added: [], removed: [], changed: [] });
  await assert.rejects(diffRevisions(repo, c1, 'main', 'ghost'), { code: 'NFTSYNC_ERR_RULESET_NOT_FOUND' });
  await assert.rejects(diffRevisions(repo, c1, 'main', '../x'), { code: 'NFTSYNC_ERR_RULESET_NAME_INVALID' });
  await assert.rejects(diffRevisions(repo, c1, 'nope'), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
});

test('diffRevisions on rulesets with element change files: the elements each change file added and removed', async (t) => {
  const f = await startServerFixture(t);
  const set = { family: 'inet', table: 't', name: 'block' };
  const base = renderRuleset({ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { ...set, type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } }] });
  const c1 = f.push({ 'rulesets/web.json': base }, 'base');
  const c2 = f.push({ 'rulesets/web.elements/000001.json': renderChangeFile(set, ['198.18.0.3'], ['198.18.0.1']) }, 'one change');
  const c3 = f.push({ 'rulesets/web.elements/000002.json': renderChangeFile(set, ['198.18.0.4'], ['198.18.0.3']) }, 'another');
  const elements = async (a: string, b: string) => (await diffRevisions(f.server.repository, a, b, 'web')).rulesets.changed[0]!.diff.elements;
  assert.deepEqual(await elements(c1, c2), { added: [{ set: 'inet t block', element: '198.18.0.3' }], removed: [{ set: 'inet t block', element: '198.18.0.1' }] });
  assert.deepEqual(await elements(c2, c3), { added: [{ set: 'inet t block', element: '198.18.0.4' }], removed: [{ set: 'inet t block', element: '198.18.0.3' }] });
  assert.deepEqual(await elements(c1, c3), { added: [{ set: 'inet t block', element: '198.18.0.4' }], removed: [{ set: 'inet t block', element: '198.18.0.1' }] });
});
