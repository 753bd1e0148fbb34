import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { readLines } from '../../../../agent/drift/read-lines.js';

async function linesOf(chunks: Array<string | Buffer>): Promise<string[]> {
  const input = new PassThrough();
  const out: string[] = [];
  readLines(input, (l) => out.push(l));
  for (const c of chunks) input.write(c);
  input.end();
  await once(input, 'end');
  return out;
}

test('readLines: lines split across chunks, \\n and \\r\\n endings, empty lines, a last line without its newline', async () => {
  assert.deepEqual(await linesOf(['add table inet t\nadd ch', 'ain inet t c\r\n\n', 'delete table inet t']), ['add table inet t', 'add chain inet t c', '', 'delete table inet t']);
  assert.deepEqual(await linesOf(['one\n', 'two\n']), ['one', 'two']);
  assert.deepEqual(await linesOf([]), []);
});

test('readLines: a UTF-8 character cut between two chunks is decoded whole', async () => {
  const bytes = Buffer.from('comment "é€"\n');
  assert.deepEqual(await linesOf([bytes.subarray(0, 10), bytes.subarray(10, 12), bytes.subarray(12)]), ['comment "é€"']);
});

test('readLines: a long line in many chunks comes whole', async () => {
  const long = 'x'.repeat(100_000);
  const chunks = Array.from({ length: 100 }, (_, i) => long.slice(i * 1000, (i + 1) * 1000));
  assert.deepEqual(await linesOf([...chunks, '\nnext\n']), [long, 'next']);
});
