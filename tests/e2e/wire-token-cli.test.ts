/**
 * The command line with a server run with --token-file and --read-token-required: `fetch`,
 * `pull` and `agent` give the token through NFT_SYNC_TOKEN or --token-file (the first token of a
 * file in the server's format); without one they stop with NFTSYNC_ERR_AUTH_REQUIRED. Real
 * processes; the rulesets are applied in a throwaway namespace.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRepository } from '../../server/git/init-repository.js';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { tempDir } from '../helpers/git-fixture.js';
import { createNetns } from '../helpers/netns.js';

const TOKEN = 'cli-wire-token-0123456789abcdef';

test('fetch, pull and agent give the wire token through NFT_SYNC_TOKEN or --token-file', async (t) => {
  const dir = tempDir(t, 'nft-sync-token-');
  const repo = join(dir, 'rules.git');
  await initRepository(repo, 'repo-template');
  const serverTokens = join(dir, 'server-tokens');
  writeFileSync(serverTokens, `# writers and readers\n${TOKEN} fleet\n`);
  const agentTokens = join(dir, 'agent-token');
  writeFileSync(agentTokens, `# the fleet's read token\n\n${TOKEN}\nsecond-token-0123456789abcdef other\n`);
  const port = await freePort();
  const httpPort = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${httpPort}`,
    '--token-file', serverTokens, '--read-token-required', '--log-level', 'debug']);
  await server.waitFor(/http listening/);
  const address = `127.0.0.1:${port}`;
  const noToken = { NFT_SYNC_TOKEN: '' };

  const refused = await runCli(['fetch', '--server', address, '--ref', 'main'], { env: noToken });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^nft-sync: NFTSYNC_ERR_AUTH_REQUIRED: /);
  const fetched = await runCli(['fetch', '--server', address, '--ref', 'main'], { env: { NFT_SYNC_TOKEN: TOKEN } });
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(fetched.stdout, readFileSync('repo-template/rulesets/default.json', 'utf8'));
  const fromFile = await runCli(['fetch', '--server', address, '--ref', 'main', '--token-file', agentTokens], { env: noToken });
  assert.equal(fromFile.code, 0, fromFile.stderr);

  const ns = createNetns(t, 'token');
  const common = ['--server', address, '--ref', 'main', '--nft', ns.nftCommand];
  const pullRefused = await runCli(['pull', ...common, '--name', 'h1', '--state-dir', join(dir, 's0')], { env: noToken });
  assert.equal(pullRefused.code, 1);
  assert.match(pullRefused.stderr, /NFTSYNC_ERR_AUTH_REQUIRED/);
  // The confirm probe after the apply is a new connection: it carries the token too.
  const pulled = await runCli(['pull', ...common, '--name', 'h1', '--state-dir', join(dir, 's1'), '--token-file', agentTokens], { env: noToken });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /^applied default at /);

  // Another host (namespace): h1's tables there are not h2's to replace.
  const ns2 = createNetns(t, 'token2');
  const agent = startCli(t, ['agent', '--server', address, '--ref', 'main', '--nft', ns2.nftCommand, '--name', 'h2', '--state-dir', join(dir, 's2'), '--token-file', agentTokens]);
  await agent.waitFor(/"msg":"applied"/, 20_000);
  const deadline = Date.now() + 10_000;
  let state: string | undefined;
  while (state !== 'Applied' && Date.now() < deadline) {
    const { agents } = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/agents`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { agents: Array<{ name: string; status?: { state: string } }> };
    state = agents.find((a) => a.name === 'h2')?.status?.state;
    if (state !== 'Applied') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(state, 'Applied', 'the agent\'s report reached the server');
  assert.doesNotMatch(server.stdout() + server.stderr(), new RegExp(TOKEN), 'the server never logs the token');
});
