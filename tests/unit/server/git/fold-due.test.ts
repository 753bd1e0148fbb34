import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldDue } from '../../../../server/git/fold-due.js';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { changeFileName, MAX_CHANGE_FILES } from '../../../../shared/ruleset/element-log.js';

const files = (n: number, size = 100) => Array.from({ length: n }, (_, i) => ({ file: changeFileName(i + 1), size }));

test('one more change file, numbered after the last, until a threshold folds them all (this one included)', () => {
  const { foldMaxFiles, foldBaseDivisor } = SERVER_DEFAULTS.elementLog;
  const big = 1_000_000;
  assert.deepEqual(foldDue({ changes: [], elementsEntries: 0, baseSize: big }, 100), { fold: false, files: 1, next: 1 });
  assert.deepEqual(foldDue({ changes: files(3), elementsEntries: 3, baseSize: big }, 100), { fold: false, files: 4, next: 4 });
  // Past foldMaxFiles files.
  assert.equal(foldDue({ changes: files(foldMaxFiles - 1), elementsEntries: foldMaxFiles - 1, baseSize: big }, 100).fold, false);
  assert.deepEqual(foldDue({ changes: files(foldMaxFiles), elementsEntries: foldMaxFiles, baseSize: big }, 100), { fold: true, files: foldMaxFiles + 1, next: foldMaxFiles + 1 });
  // Their bytes past the base's / foldBaseDivisor.
  assert.equal(foldDue({ changes: files(1, 500), elementsEntries: 1, baseSize: 1000 * foldBaseDivisor }, 500).fold, false);
  assert.equal(foldDue({ changes: files(1, 500), elementsEntries: 1, baseSize: 1000 * foldBaseDivisor }, 501).fold, true);
  // Numbering past the last number a name can hold; a stray entry in the directory.
  assert.equal(foldDue({ changes: [{ file: changeFileName(MAX_CHANGE_FILES), size: 1 }], elementsEntries: 1, baseSize: big }, 1).fold, true);
  assert.equal(foldDue({ changes: files(2), elementsEntries: 3, baseSize: big }, 100).fold, true);
  // Numbered after the highest, whatever the gaps.
  assert.equal(foldDue({ changes: [{ file: changeFileName(7), size: 1 }], elementsEntries: 1, baseSize: big }, 1).next, 8);
});
