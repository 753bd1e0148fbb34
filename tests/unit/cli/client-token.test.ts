/**
 * cli/client-token.ts: the token a client sends, from --token-file or NFT_SYNC_TOKEN.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientToken } from '../../../cli/client-token.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

test('clientToken: the first token of --token-file, else NFT_SYNC_TOKEN, else none; a bad file NFTSYNC_ERR_CONFIG_INVALID without echoing a token', (t) => {
  const dir = makeTempDir(t, 'nft-sync-token-');
  const before = process.env.NFT_SYNC_TOKEN;
  t.after(() => (before === undefined ? delete process.env.NFT_SYNC_TOKEN : (process.env.NFT_SYNC_TOKEN = before)));
  delete process.env.NFT_SYNC_TOKEN;
  assert.equal(clientToken({}), undefined);
  process.env.NFT_SYNC_TOKEN = 'env-token-0123456789abcdef';
  assert.equal(clientToken({}), 'env-token-0123456789abcdef');
  const file = join(dir, 'tokens');
  writeFileSync(file, '# mine\nfile-token-0123456789abcdef alice\nsecond-token-0123456789abcdef bob\n');
  assert.equal(clientToken({ 'token-file': file }), 'file-token-0123456789abcdef');
  writeFileSync(file, '# nothing\n');
  assert.throws(() => clientToken({ 'token-file': file }), { code: 'NFTSYNC_ERR_CONFIG_INVALID' });
  assert.throws(() => clientToken({ 'token-file': join(dir, 'missing') }), { code: 'NFTSYNC_ERR_CONFIG_INVALID' });
});
