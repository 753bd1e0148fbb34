import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { gitBlobId, objectIdAlgorithm } from '../../../../shared/git/git-blob-id.js';

test('gitBlobId is the id git gives the same bytes (git hash-object), SHA-1 and SHA-256', () => {
  for (const text of ['', 'hello\n', '{"nftables":[]}\n', 'ünïcödé\0binary']) {
    const bytes = Buffer.from(text);
    assert.equal(gitBlobId(bytes), execFileSync('git', ['hash-object', '--stdin'], { input: bytes, encoding: 'utf8' }).trim(), JSON.stringify(text));
  }
  assert.equal(gitBlobId(Buffer.from('')), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  assert.equal(gitBlobId(Buffer.from(''), 'sha256'), '473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813');
});

test('objectIdAlgorithm tells SHA-256 ids (64 hex digits) from SHA-1 ones', () => {
  assert.equal(objectIdAlgorithm('a'.repeat(40)), 'sha1');
  assert.equal(objectIdAlgorithm('a'.repeat(64)), 'sha256');
});
