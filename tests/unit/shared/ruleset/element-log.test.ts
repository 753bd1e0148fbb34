import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeFileName, changeFileNumber, elementsDirName, parseChangeFile, renderChangeFile, rulesetOfElementsDir } from '../../../../shared/ruleset/element-log.js';
import { NftSyncError } from '../../../../shared/errors.js';

const at = { family: 'inet', table: 'filter', name: 'blocklist' };
const error = (fn: () => unknown): NftSyncError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NftSyncError, String(err));
    return err;
  }
  throw new Error('no error');
};

describe('element change files', () => {
  it('render: one element a line, and parse reads back what was rendered', () => {
    const text = renderChangeFile(at, ['198.18.0.7', { elem: { val: '198.18.0.8', timeout: 60 } }], [['198.18.0.9', { drop: null }]]);
    assert.equal(
      text,
      '{\n  "nft-sync-elements": 1,\n  "set": {"family":"inet","table":"filter","name":"blocklist"},\n  "add": [\n    "198.18.0.7",\n    {"elem":{"val":"198.18.0.8","timeout":60}}\n  ],\n  "delete": [\n    ["198.18.0.9",{"drop":null}]\n  ]\n}\n',
    );
    assert.deepEqual(parseChangeFile(text), { 'nft-sync-elements': 1, set: at, add: ['198.18.0.7', { elem: { val: '198.18.0.8', timeout: 60 } }], delete: [['198.18.0.9', { drop: null }]] });
    assert.match(renderChangeFile(at, [], ['198.18.0.1']), /"add": \[\],\n  "delete": \[\n    "198\.18\.0\.1"\n  \]/);
  });

  it('names: six digits, in order; only that shape is a change file', () => {
    assert.equal(changeFileName(1), '000001.json');
    assert.equal(changeFileName(999999), '999999.json');
    assert.equal(changeFileNumber('000042.json'), 42);
    for (const bad of ['42.json', '0000042.json', '000042.json.bak', 'abcdef.json', '000042.JSON', '../00001.json']) assert.equal(changeFileNumber(bad), undefined, bad);
    assert.equal(elementsDirName('edge'), 'edge.elements');
    assert.equal(rulesetOfElementsDir('edge.elements'), 'edge');
    assert.equal(rulesetOfElementsDir('.elements'), undefined);
    assert.equal(rulesetOfElementsDir('edge.json'), undefined);
  });

  it('hostile or malformed files are refused with the ruleset codes, before or without trusting them', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['{', 'NFTSYNC_ERR_RULESET_JSON', /not valid JSON/],
      ['[]', 'NFTSYNC_ERR_RULESET_SCHEMA', /not an element change file/],
      ['{"nft-sync-elements": 2, "set": {"family":"inet","table":"t","name":"s"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /"nft-sync-elements": 1 expected, found 2/],
      ['{"set": {"family":"inet","table":"t","name":"s"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /found none/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet","table":"t","name":"s"}, "add": [], "delete": [], "flush": true}', 'NFTSYNC_ERR_RULESET_SCHEMA', /unknown key "flush"/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet","table":"t","name":"s"}, "add": "198.18.0.1", "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /\/add/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet","table":"t"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /\/set/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet6","table":"t","name":"s"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /\/set\/family/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet","table":"a/b","name":"s"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /\/set\/table/],
      ['{"nft-sync-elements": 1, "nft-sync-elements": 1, "set": {"family":"inet","table":"t","name":"s"}, "add": [], "delete": []}', 'NFTSYNC_ERR_RULESET_SCHEMA', /written twice/],
      [`{"nft-sync-elements": 1, "set": {"family":"inet","table":"t","name":"s"}, "add": [${'['.repeat(200)}${']'.repeat(200)}], "delete": []}`, 'NFTSYNC_ERR_RULESET_TOO_COMPLEX', /nests deeper/],
      ['{"nft-sync-elements": 1, "set": {"family":"inet","table":"t","name":"s"}, "add": [{"elem":{"val":"198.18.0.1","timeout":18446744073709551615}}], "delete": []}', 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT', /18446744073709551615/],
    ];
    for (const [text, code, message] of cases) {
      const e = error(() => parseChangeFile(text));
      assert.equal(e.code, code, text.slice(0, 80));
      assert.match(e.message, message, text.slice(0, 80));
    }
  });
});
