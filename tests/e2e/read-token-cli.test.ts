/**
 * `--read-token-required` seen from the command line: the server's API reads need the token, and
 * the CLI's API readers (`status`) send NFT_SYNC_TOKEN. Real CLI processes on loopback.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const TOKEN = 'status-reader-0123456789abcdef';

test('with --read-token-required, status fails with AUTH_REQUIRED without NFT_SYNC_TOKEN and works with it', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-rt-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  writeFileSync(join(dir, 'tokens'), `${TOKEN} ops\n`);
  const http = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${http}`, '--token-file', join(dir, 'tokens'), '--read-token-required', '--log-level', 'info']);
  await server.waitFor(/http listening/);
  const env = { NFT_SYNC_TOKEN: '' };
  const refused = await runCli(['status', '--http', `127.0.0.1:${http}`], { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^nft-sync: NFTSYNC_ERR_AUTH_REQUIRED: .*NFT_SYNC_TOKEN/m);
  const wrong = await runCli(['status', '--http', `127.0.0.1:${http}`], { env: { NFT_SYNC_TOKEN: 'wrong-token-0123456789' } });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /NFTSYNC_ERR_AUTH_REQUIRED/);
  const ok = await runCli(['status', '--http', `127.0.0.1:${http}`, '--json'], { env: { NFT_SYNC_TOKEN: TOKEN } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotThrow(() => JSON.parse(ok.stdout), ok.stdout);
});

test('server: an HTTP time limit out of range is a usage error naming the flag', async () => {
  const r = await runCli(['server', '--repo', '/nonexistent', '--listen', '127.0.0.1:1', '--http-body-idle-timeout', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^nft-sync: NFTSYNC_ERR_USAGE: --http-body-idle-timeout must be a number of seconds from 0\.1 to 86400, got "0"$/m);
});
