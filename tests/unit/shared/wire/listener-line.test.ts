import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { describeEvent, parseListenerLine } from '../../../../shared/wire/listener-line.js';

test('listener lines: ready, tx with element keys and a rule, lost, answers', () => {
  assert.deepEqual(parseListenerLine('{"t":"ready","gen":7}'), { ok: true, line: { t: 'ready', gen: 7 } });
  assert.deepEqual(parseListenerLine('{"t":"lost"}'), { ok: true, line: { t: 'lost' } });
  assert.deepEqual(parseListenerLine('{"t":"gen","gen":9,"seen":8}'), { ok: true, line: { t: 'gen', gen: 9, seen: 8 } });
  const tx = parseListenerLine(
    '{"t":"tx","gen":8,"pid":4242,"proc":"nft","tables":[["inet","t"]],"events":[' +
      '{"op":"add","kind":"element","family":"inet","table":"t","name":"blk","elems":[{"k":"c0000207"},{"k":"0a000100","f":1}],"count":2},' +
      '{"op":"del","kind":"rule","family":"inet","table":"t","chain":"input","handle":5}],"truncated":false}',
  );
  assert.ok(tx.ok);
  assert.equal(tx.line.t, 'tx');
  if (tx.line.t !== 'tx') return;
  assert.equal(tx.line.pid, 4242);
  assert.deepEqual(tx.line.tables, [['inet', 't']]);
  assert.deepEqual(tx.line.events[0]!.elems, [{ k: 'c0000207' }, { k: '0a000100', f: 1 }]);
  assert.equal(describeEvent(tx.line.events[0]!), '2 element(s) added to set inet t blk');
  assert.equal(describeEvent(tx.line.events[1]!), 'rule deleted in inet t input (handle 5)');
  assert.equal(describeEvent({ op: 'del', kind: 'table', family: 'ip', table: 'x' }), 'table ip x deleted');
  assert.equal(describeEvent({ op: 'add', kind: 'chain', family: 'ip', table: 'x', name: 'c' }), 'chain c added in ip x');
});

test('listener lines: anything malformed is refused with a reason', () => {
  const bad = [
    '',
    'garbage',
    '[]',
    'null',
    '{"t":"what"}',
    '{"t":"ready"}',
    '{"t":"ready","gen":-1}',
    '{"t":"gen","gen":1}',
    '{"t":"tx","gen":1,"pid":2,"proc":"nft","events":[],"truncated":false}',
    '{"t":"tx","gen":1,"pid":2,"proc":"nft","tables":[["inet"]],"events":[],"truncated":false}',
    '{"t":"tx","gen":1,"pid":2,"proc":"nft","tables":[],"events":[{"op":"zap","kind":"rule","family":"ip","table":"t"}],"truncated":false}',
    '{"t":"tx","gen":1,"pid":2,"proc":"nft","tables":[],"events":[{"op":"add","kind":"element","family":"ip","table":"t","name":"s","elems":[{"k":"xyz"}],"count":1}],"truncated":false}',
    '{"t":"tx","gen":1,"pid":2,"proc":"nft","tables":[],"events":[{"op":"add","kind":"element","family":"ip","table":"t","name":"s","elems":[{"k":"00"}],"count":0}],"truncated":false}',
  ];
  for (const line of bad) {
    const r = parseListenerLine(line);
    assert.equal(r.ok, false, line);
    if (!r.ok) assert.ok(r.reason.length > 0);
  }
});

test('listener lines: any input is parsed or refused, never thrown (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ t: 'tx', gen: 1, pid: 1, proc: 'nft', tables: [], events: [v], truncated: false }))), (s) => {
      const r = parseListenerLine(s);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});
