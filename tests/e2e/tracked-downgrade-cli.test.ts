/**
 * A tracked release never goes backwards, through the command line: a real `nft-sync server`
 * (wire and HTTP), a real `nft-sync agent --track-tags 'v*'` applying with the real nft in a
 * throwaway namespace, annotated tags pushed and deleted with the real git client, and the real
 * `nft-sync status` and `nft-sync pull`. (pull --allow-downgrade shares its flag handling with the
 * agent, cli/agent-flags.ts; pullOnce with it is tested in tests/integration/agent/tracked-downgrade.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

interface AgentJson {
  name: string;
  status?: { tag?: string; state: string; conditions: Array<{ type: string; status: string; reason: string; message?: string }> };
}

test('agent --track-tags: v2.0.0 deleted, the agent stays on it and status shows it held; pull refuses; agent --allow-downgrade goes back to v1.0.5', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-e2e-held-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const clone = join(dir, 'clone');
  execFileSync('git', ['clone', '-q', repo, clone], { env: testGitEnv() });
  const git = (args: string[]) => execFileSync('git', args, { cwd: clone, env: testGitEnv(), encoding: 'utf8' });
  const release = (name: string, port: number) => {
    writeFileSync(join(clone, 'rulesets/default.json'), DEFAULT.replace(/"right": 22\b/, `"right": ${port}`));
    git(['commit', '-qam', `release ${name}`]);
    git(['tag', '-a', name, '-m', `release ${name}`]);
    git(['push', '-q', 'origin', 'main', name]);
  };
  release('v1.0.5', 3105);
  release('v2.0.0', 3120);

  const [wire, http] = [await freePort(), await freePort()];
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${wire}`, '--http', `127.0.0.1:${http}`, '--log-level', 'info']);
  await server.waitFor(/http listening/);
  const ns = createNetns(t, 'heldcli');
  const inForcePort = () => Number(/tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']))?.[1]);
  const state = join(dir, 'state');
  const agentArgs = ['agent', '--server', `127.0.0.1:${wire}`, '--track-tags', 'v*', '--name', 'host-1', '--nft', ns.nftCommand, '--state-dir', state, '--log-level', 'info'];
  // Polled through the API the status command reads (a process per poll would be slow); the
  // command itself is run once below.
  const status = async (): Promise<AgentJson | undefined> => {
    const r = await fetch(`http://127.0.0.1:${http}/api/v1/agents`);
    return ((await r.json()) as { agents: AgentJson[] }).agents.find((a) => a.name === 'host-1');
  };
  const until = async (what: string, pred: (a: AgentJson | undefined) => boolean): Promise<AgentJson> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const a = await status();
      if (pred(a)) return a!;
      if (Date.now() > deadline) assert.fail(`status never showed ${what}: ${JSON.stringify(a)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const agent = startCli(t, agentArgs);
  await agent.waitFor(/"msg":"applied"/, 30_000);
  assert.equal(inForcePort(), 3120);

  // v2.0.0 disappears from the server: the agent is told, refuses v1.0.5 and is held.
  const mark = agent.stdout().length;
  git(['push', '-q', 'origin', ':refs/tags/v2.0.0']);
  const held = await until('Held', (a) => a?.status?.conditions.some((c) => c.type === 'Held' && c.status === 'True') ?? false);
  assert.equal(held.status!.tag, 'v2.0.0');
  assert.equal(held.status!.conditions.find((c) => c.type === 'Ready')?.reason, 'DowngradeRefused');
  assert.match(held.status!.conditions.find((c) => c.type === 'Held')!.message!, /offers v1\.0\.5 .* lower version than v2\.0\.0/);
  assert.match(agent.stdout().slice(mark), /NFTSYNC_ERR_RELEASE_DOWNGRADE/);
  assert.equal(inForcePort(), 3120, 'v2.0.0 stays in force');
  const table = await runCli(['status', '--http', `http://127.0.0.1:${http}`]);
  // (Loose on the columns: the table's layout is not what this test is about.)
  const line = table.stdout.split('\n').find((l) => l.startsWith('host-1 ')) ?? '';
  assert.match(line, /v2\.0\.0/);
  assert.match(line, /Degraded.*DowngradeRefused/);
  assert.equal(await agent.stop(), 0);

  // pull refuses too, with the code on one line; the ruleset stays.
  const pullArgs = ['pull', '--server', `127.0.0.1:${wire}`, '--track-tags', 'v*', '--name', 'host-1', '--nft', ns.nftCommand, '--state-dir', state];
  const refused = await runCli(pullArgs);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^nft-sync: NFTSYNC_ERR_RELEASE_DOWNGRADE: .*v1\.0\.5.*v2\.0\.0.*--allow-downgrade/m);
  assert.equal(inForcePort(), 3120);

  // The operator means it: the agent with --allow-downgrade goes back to v1.0.5.
  const back = startCli(t, [...agentArgs, '--allow-downgrade']);
  await back.waitFor(/"msg":"applied"/, 30_000);
  assert.equal(inForcePort(), 3105);
  await until('v1.0.5 applied', (a) => a?.status?.tag === 'v1.0.5' && a.status.state === 'Applied');
  assert.equal(await back.stop(), 0);
});
