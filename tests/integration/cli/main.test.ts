/**
 * cli/main.ts: the command line's entry point as a process: help lists every command, --version
 * the package's, COMMAND --help its flags; unknown commands and usage errors exit 2 with the
 * code on stderr; any other failure exits 1 with its code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli-process.js';

test('nft-sync: --help (exit 0) and no command (exit 2) list the commands; --version; COMMAND --help; exit 2 for usage, 1 for other failures', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const c of ['init', 'server', 'fetch', 'pull', 'agent', 'rollback', 'rollout', 'set', 'status', 'pki', 'import', 'hook']) assert.match(help.stdout, new RegExp(`^  ${c} +\\S`, 'm'), c);
  const bare = await runCli([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, help.stdout);
  const version = await runCli(['--version']);
  assert.equal(version.stdout, `nft-sync ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`);
  const fetchHelp = await runCli(['fetch', '--help']);
  assert.equal(fetchHelp.code, 0);
  assert.match(fetchHelp.stdout, /--server/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'nft-sync: NFTSYNC_ERR_USAGE: unknown command "frobnicate"; try nft-sync --help\n');
  const failed = await runCli(['fetch', '--server', '127.0.0.1:1', '--ref', 'main']);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^nft-sync: NFTSYNC_ERR_CONN_FAILED: /);
});
