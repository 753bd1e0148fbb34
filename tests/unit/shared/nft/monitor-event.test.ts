import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMonitorLine } from '../../../../shared/nft/monitor-event.js';

test('monitor lines: rules, tables, elements; garbage is ignored', () => {
  const rule = parseMonitorLine('{"add": {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2, "expr": []}}}');
  assert.deepEqual(rule, { verb: 'add', kind: 'rule', family: 'inet', table: 't', summary: 'rule added in inet t c' });
  assert.equal(parseMonitorLine('{"delete": {"table": {"family": "ip", "name": "x", "handle": 1}}}')?.summary, 'table ip x deleted');
  assert.equal(parseMonitorLine('{"add": {"element": {"family": "inet", "table": "t", "name": "s", "elem": {"set": ["1.2.3.4"]}}}}')?.summary, 'element s added in inet t');
  for (const bad of ['', 'trace id 1', '{', '[]', '{"add": 1}', '{"add": {"rule": {"table": "t"}}}', 'null', '{"metainfo": {"version": "1"}}']) {
    assert.equal(parseMonitorLine(bad), undefined, bad);
  }
});

test('a huge element line is read from its head', () => {
  const elems = Array.from({ length: 10_000 }, (_, i) => `"10.0.${i >> 8}.${i & 255}"`).join(', ');
  const line = `{"add": {"element": {"family": "inet", "table": "nft_sync", "name": "blk", "elem": {"set": [${elems}]}}}}`;
  assert.ok(line.length > 64 * 1024);
  assert.deepEqual(parseMonitorLine(line), { verb: 'add', kind: 'element', family: 'inet', table: 'nft_sync', summary: 'element blk added in inet nft_sync' });
});
