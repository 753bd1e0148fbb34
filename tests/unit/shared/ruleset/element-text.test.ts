import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elementFromText, elementsFromFile } from '../../../../shared/ruleset/element-text.js';
import type { NftSyncError } from '../../../../shared/errors.js';

describe('elementFromText', () => {
  const cases: Array<[string, unknown]> = [
    ['198.18.0.1', '198.18.0.1'],
    ['198.18.0.0/24', '198.18.0.0/24'],
    ['198.18.0.1 . 80', { concat: ['198.18.0.1', '80'] }],
    ['198.18.0.1 : drop', ['198.18.0.1', 'drop']],
    ['198.18.0.1 . 22 : jump allow', [{ concat: ['198.18.0.1', '22'] }, 'jump allow']],
    ['fd00::1', 'fd00::1'],
    ['{"elem": {"val": "198.18.0.1", "timeout": 5}}', { elem: { val: '198.18.0.1', timeout: 5 } }],
    ['["198.18.0.1", {"accept": null}]', ['198.18.0.1', { accept: null }]],
  ];
  for (const [text, want] of cases) it(text, () => assert.deepEqual(elementFromText(text, 'arg'), want));
  it('a timeout wraps the key, of a set element or a map element', () => {
    assert.deepEqual(elementFromText('198.18.0.1', 'arg', 30), { elem: { val: '198.18.0.1', timeout: 30 } });
    assert.deepEqual(elementFromText('198.18.0.1 : drop', 'arg', 30), [{ elem: { val: '198.18.0.1', timeout: 30 } }, 'drop']);
  });
  it('bad JSON is a usage error naming where', () => {
    assert.throws(() => elementFromText('{"elem": ', 'element 3'), (e: NftSyncError) => e.code === 'NFTSYNC_ERR_USAGE' && /^element 3: "\{\\"elem\\":" is not JSON/.test(e.message));
  });
});

describe('elementsFromFile', () => {
  it('one a line; blank lines and # comments ignored; errors name the line', () => {
    assert.deepEqual(elementsFromFile('# blocklist\n198.18.0.1\n\n  198.18.0.2   # scanner\n198.18.0.0/24\n', 'f.txt'), ['198.18.0.1', '198.18.0.2', '198.18.0.0/24']);
    assert.throws(() => elementsFromFile('198.18.0.1\n[1,\n', 'f.txt'), /^NftSyncError|f\.txt:2:/);
  });
});
