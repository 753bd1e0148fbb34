import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyRevision } from '../../../../agent/reconcile/verify-revision.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { expectCode } from '../../../helpers/expect-code.js';

const where = { ruleset: 'default', commit: 'c'.repeat(40) };
const bytes = Buffer.from('{"nftables":[{"table":{"family":"inet","name":"nft_sync"}}]}\n');

test('verifyRevision: bytes that hash to the announced blob (SHA-1 or SHA-256) are parsed', () => {
  assert.equal(verifyRevision(bytes, gitBlobId(bytes), where).ruleset.nftables.length, 1);
  assert.equal(verifyRevision(bytes, gitBlobId(bytes, 'sha256'), where).blob, gitBlobId(bytes, 'sha256'));
});

test('verifyRevision: other bytes are refused before parsing (VERIFY_BLOB_MISMATCH), bad JSON after (RULESET_JSON)', () => {
  const err = expectCode(() => verifyRevision(Buffer.from('{}'), gitBlobId(bytes), where), 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH');
  assert.deepEqual(err.data, { announced: gitBlobId(bytes), actual: gitBlobId(Buffer.from('{}')), ...where });
  const junk = Buffer.from('not json');
  expectCode(() => verifyRevision(junk, gitBlobId(junk), where), 'NFTSYNC_ERR_RULESET_JSON');
});
