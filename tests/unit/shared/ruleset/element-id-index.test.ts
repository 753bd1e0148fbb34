import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ElementIdIndex } from '../../../../shared/ruleset/element-id-index.js';

test('finds every id at its index and nothing else, over 100,000 ids of mixed shapes', () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? (i * 2654435761 >>> 0).toString(16).padStart(8, '0') : i % 3 === 1 ? `${i.toString(16)}.0050` : `s:eth${i}`));
  const index = ElementIdIndex.build(ids)!;
  assert.equal(index.size, ids.length);
  ids.forEach((id, k) => assert.equal(index.get(id), k));
  for (const absent of ['', 'x', 's:eth', '00000000.', `${ids[5]}x`, ids[7]!.slice(1)]) assert.equal(index.get(absent), undefined, absent);
  assert.equal(index.idAt(12), ids[12]);
});

test('two equal ids: no index; a state copied to another thread (structured clone) answers the same', () => {
  assert.equal(ElementIdIndex.build(['a', 'b', 'a']), undefined);
  const index = ElementIdIndex.build(['0a000001', '0a000002', 's:ü'])!;
  const copy = ElementIdIndex.from(structuredClone(index.state));
  assert.deepEqual(['0a000001', '0a000002', 's:ü', 'nope'].map((id) => copy.get(id)), [0, 1, 2, undefined]);
  assert.equal(ElementIdIndex.build([])!.get('x'), undefined);
});
