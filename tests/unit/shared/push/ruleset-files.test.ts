import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rulesetFilesOf } from '../../../../shared/push/ruleset-files.js';

const f = (path: string, blob = 'a'.repeat(40), mode = '100644') => ({ path, blob, mode });

describe('rulesetFilesOf', () => {
  it('groups each base with its change files in name order; the key changes with any of them', () => {
    const { rulesets, problems } = rulesetFilesOf([
      f('rulesets/web.elements/000002.json', 'c'.repeat(40)),
      f('rulesets/web.json'),
      f('rulesets/web.elements/000001.json', 'b'.repeat(40)),
      f('rulesets/db.json', 'd'.repeat(40)),
      f('nft-sync.yaml'),
      f('rulesets/README.md'),
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual([...rulesets.keys()].sort(), ['db', 'web']);
    assert.deepEqual(rulesets.get('web')!.changes.map((c) => c.path), ['rulesets/web.elements/000001.json', 'rulesets/web.elements/000002.json']);
    assert.deepEqual(rulesets.get('db')!.changes, []);
    const again = rulesetFilesOf([f('rulesets/web.json'), f('rulesets/web.elements/000001.json', 'b'.repeat(40))]);
    assert.notEqual(again.rulesets.get('web')!.key, rulesets.get('web')!.key);
    const renamed = rulesetFilesOf([f('rulesets/web.json'), f('rulesets/web.elements/000003.json', 'b'.repeat(40)), f('rulesets/web.elements/000002.json', 'c'.repeat(40))]);
    assert.notEqual(renamed.rulesets.get('web')!.key, rulesets.get('web')!.key, 'the order the files apply in is part of the key');
  });

  it('stray names, symlinks and change files without a base are problems', () => {
    const { rulesets, problems } = rulesetFilesOf([
      f('rulesets/web.json'),
      f('rulesets/web.elements/1.json'),
      f('rulesets/web.elements/000001.json', 'b'.repeat(40), '120000'),
      f('rulesets/web.elements/x/000001.json'),
      f('rulesets/gone.elements/000001.json'),
      f('rulesets/gone.elements/000002.json'),
    ]);
    assert.deepEqual(rulesets.get('web')!.changes, []);
    assert.deepEqual(problems.map((p) => [p.path, p.code]), [
      ['rulesets/web.elements/1.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID'],
      ['rulesets/web.elements/000001.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID'],
      ['rulesets/web.elements/x/000001.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID'],
      ['rulesets/gone.elements/', 'NFTSYNC_ERR_RULESET_NOT_FOUND'],
    ]);
    assert.match(problems[3]!.message, /holds 2 element change files but there is no rulesets\/gone\.json/);
  });
});
