/**
 * knownBlobId: git's blob id of the bytes, per algorithm, remembered by the Buffer (so a 20 MB
 * ruleset checked at the wire is not hashed again where it is verified and stored).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { knownBlobId, rememberBlobId } from '../../../agent/known-blob-id.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';

test('the blob id of the bytes, SHA-1 and SHA-256 each, the same for equal bytes in another Buffer', () => {
  const bytes = Buffer.from('{"nftables": []}\n');
  assert.equal(knownBlobId(bytes), createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'));
  assert.equal(knownBlobId(bytes, 'sha256'), gitBlobId(bytes, 'sha256'));
  assert.equal(knownBlobId(Buffer.from(bytes)), knownBlobId(bytes));
});

test('hashed once per Buffer: a second call does not read the bytes again', () => {
  const bytes = Buffer.from('a'.repeat(1000));
  const first = knownBlobId(bytes);
  // Only a Buffer the agent never writes into is asked twice; here the write shows the id is remembered, not recomputed.
  bytes.fill(0x62);
  assert.equal(knownBlobId(bytes), first);
  assert.notEqual(knownBlobId(Buffer.from(bytes)), first);
});

test('rememberBlobId: an id computed elsewhere of these very bytes is what knownBlobId gives', () => {
  const bytes = Buffer.from('remembered');
  rememberBlobId(bytes, 'sha1', gitBlobId(bytes));
  bytes.fill(0x63);
  assert.equal(knownBlobId(bytes), gitBlobId(Buffer.from('remembered')), 'not hashed again');
});
