/**
 * cli/commands/agent.ts: `nft-sync agent` applies the revision, follows the branch to the next
 * one, and stops on SIGTERM with exit 0; its own flags (--name, --publish) are checked first.
 * A daemon: its log lines go to stdout (the journal under systemd), its stderr stays empty.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startCli } from '../../../helpers/cli-process.js';
import { createNetns } from '../../../helpers/netns.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';

const table = (name: string) => `{"nftables": [{"table": {"family": "inet", "name": "${name}"}}]}\n`;

test('agent: applies main, then the pushed revision; SIGTERM: exit 0 and "stopped"; log lines JSON on stdout, stderr empty; no --name, a bad name, --publish with --track-tags exit 2', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': table('nft_sync_one') }, 'one');
  const ns = createNetns(t, 'agentc');
  const base = ['agent', '--server', `${f.host}:${f.port}`, '--nft', ns.nftCommand, '--state-dir', makeStateDir(t), '--confirm-window', '0'];
  const agent = startCli(t, [...base, '--ref', 'main', '--name', 'host-1']);
  await agent.waitFor(/"msg":"applied"/, 20_000);
  assert.match(ns.nft(['list', 'tables']), /table inet nft_sync_one/);
  const mark = agent.stdout().length;
  const two = f.push({ 'rulesets/default.json': table('nft_sync_two') }, 'two');
  await agent.waitFor(new RegExp(`"commit":"${two}".*"msg":"applied"`), 20_000, mark);
  assert.match(ns.nft(['list', 'tables']), /table inet nft_sync_two/);
  assert.doesNotMatch(ns.nft(['list', 'tables']), /nft_sync_one/);
  assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
  assert.equal(agent.stderr(), '', 'nothing on stderr in a normal run');
  const msgs = agent.stdout().trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.equal(msgs.filter((m) => m === 'applied').length, 2, msgs.join(' | '));
  assert.equal(msgs.at(-1), 'stopped');
  for (const extra of [['--ref', 'main'], ['--ref', 'main', '--name', 'web 1'], ['--track-tags', 'v*', '--name', 'a', '--publish']]) {
    const bad = await runCli([...base, ...extra]);
    assert.equal(bad.code, 2, `${extra.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE: agent: --/);
  }
});
