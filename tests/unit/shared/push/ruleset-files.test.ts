import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rulesetFilesOf } from '../../../../shared/push/ruleset-files.js';
import { changeFileName, MAX_STORED_CHANGE_FILES } from '../../../../shared/ruleset/element-log.js';

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

  it("security: a pusher's 100,000 change files are refused as one problem (TOO_COMPLEX), grouped in one pass; the cap itself passes", () => {
    const many = (name: string, n: number) => [f(`rulesets/${name}.json`), ...Array.from({ length: n }, (_, i) => f(`rulesets/${name}.elements/${changeFileName(i + 1)}`))];
    // Grouping copied the list once per file: 100,000 files held the server's event loop 90 s.
    const { rulesets, problems } = rulesetFilesOf([...many('big', 100_000), ...many('edge', MAX_STORED_CHANGE_FILES)]);
    assert.deepEqual(problems.map((p) => [p.path, p.code]), [['rulesets/big.elements/', 'NFTSYNC_ERR_RULESET_TOO_COMPLEX']]);
    assert.match(problems[0]!.message, /holds 100000 element change files, more than the 1000 .*fold them into rulesets\/big\.json/);
    assert.equal(rulesets.has('big'), false);
    assert.equal(rulesets.get('edge')!.changes.length, MAX_STORED_CHANGE_FILES);
  });
});
