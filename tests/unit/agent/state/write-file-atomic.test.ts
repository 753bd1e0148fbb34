import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../../../agent/state/write-file-atomic.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

test('writeFileAtomic replaces the file whole, 0600, leaving no temporary file', async (t) => {
  const dir = makeTempDir(t);
  await writeFileAtomic(dir, 'state.json', Buffer.from('one'));
  await writeFileAtomic(dir, 'state.json', Buffer.from('two'));
  assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), 'two');
  assert.equal(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('writeFileAtomic durable: false replaces the file whole too (the directory not synced), leaving no temporary file', async (t) => {
  const dir = makeTempDir(t);
  await writeFileAtomic(dir, 'state.json', Buffer.from('one'), { durable: false });
  await writeFileAtomic(dir, 'state.json', Buffer.from('two'), { durable: false });
  assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), 'two');
  assert.equal(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('writeFileAtomic into a missing directory fails and leaves nothing', async (t) => {
  const dir = makeTempDir(t);
  await assert.rejects(writeFileAtomic(join(dir, 'nope'), 'x', Buffer.from('x')), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(dir), []);
});
