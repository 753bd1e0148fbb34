/**
 * Signed releases through the command line: `pull --allowed-signers` applies a tag signed with
 * an allowed SSH key and refuses an unsigned one with its code; a missing file stops at start.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns } from '../helpers/netns.js';
import { makeSigner, tag } from '../helpers/signing-fixture.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');


test('pull --allowed-signers: a signed tag applies, an unsigned one is refused and the ruleset stays', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-e2e-signed-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const clone = join(dir, 'clone');
  const git = (args: string[]) => execFileSync('git', args, { cwd: clone, env: testGitEnv(), encoding: 'utf8' });
  execFileSync('git', ['clone', '-q', repo, clone], { env: testGitEnv() });
  const signer = makeSigner(dir, 'release');
  tag(clone, 'v1', signer);
  writeFileSync(join(clone, 'rulesets/default.json'), DEFAULT.replace(/"right": 22\b/, '"right": 2222'));
  git(['commit', '-qam', 'port 2222']);
  tag(clone, 'v2');
  git(['push', '-q', 'origin', 'main', 'v1', 'v2']);

  const port = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--log-level', 'info']);
  await server.waitFor(/wire protocol listening/);
  const ns = createNetns(t, 'sigcli');
  const pull = (ref: string, allowed = signer.allowedSigners) =>
    runCli(['pull', '--server', `127.0.0.1:${port}`, '--ref', ref, '--name', 'host-1', '--allowed-signers', allowed, '--nft', ns.nftCommand, '--state-dir', join(dir, 'state')]);
  const ok = await pull('v1');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^applied default at /);
  const unsigned = await pull('v2');
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /^nft-sync: NFTSYNC_ERR_VERIFY_SIGNATURE: tag v2 is not signed$/m);
  assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
  const missing = await pull('v1', join(dir, 'nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NFTSYNC_ERR_CONFIG_INVALID: --allowed-signers/);
});
