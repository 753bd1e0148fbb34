/**
 * A read-only replica serving real agents in network namespaces, and failover when it dies.
 *
 * The primary and its replica (`server --mirror-of`) run in one "servers" namespace; two agents
 * each run as a real `nft-sync agent` process in its own namespace, joined to the servers' by a
 * veth pair (198.18.0.16/30, .20/30), with `--server REPLICA,PRIMARY`. A push to the primary
 * reaches the agents through the replica, and their reports reach the primary's API. Then the
 * replica is killed (SIGKILL): within seconds every agent is connected to the primary, without
 * applying again what it already holds, and it follows the primary's next push.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort, runCli, startCli, type CliDaemon } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8' }).trim();

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'nft-sync-replica-ns-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The servers' namespace and two agent namespaces, each joined to it by a veth pair. */
function hosts(t: TestContext): { servers: Netns; agents: Array<{ ns: Netns; serverAddress: string }> } {
  const servers = createNetns(t, 'rsrv');
  const tag = randomBytes(3).toString('hex');
  const agents = [0, 1].map((i) => {
    const ns = createNetns(t, `rag${i}`);
    const [a, s] = [`nra${i}${tag}`, `nrs${i}${tag}`];
    execFileSync('ip', ['link', 'add', a, 'netns', ns.name, 'type', 'veth', 'peer', 'name', s, 'netns', servers.name]);
    const base = 16 + 4 * i;
    servers.exec(['ip', 'addr', 'add', `198.18.0.${base + 1}/30`, 'dev', s]);
    servers.exec(['ip', 'link', 'set', s, 'up']);
    ns.exec(['ip', 'addr', 'add', `198.18.0.${base + 2}/30`, 'dev', a]);
    ns.exec(['ip', 'link', 'set', a, 'up']);
    return { ns, serverAddress: `198.18.0.${base + 1}` };
  });
  return { servers, agents };
}

function push(dir: string, repo: string, ruleset: string, message: string): string {
  const clone = join(dir, `clone-${randomBytes(4).toString('hex')}`);
  git(dir, ['clone', '-q', repo, clone]);
  writeFileSync(join(clone, 'rulesets/default.json'), ruleset);
  git(clone, ['commit', '-qam', message]);
  git(clone, ['push', '-q', 'origin', 'main']);
  return git(clone, ['rev-parse', 'HEAD']);
}

/** The `applied` log lines of a daemon so far. */
const applies = (d: CliDaemon): number => d.stdout().split('\n').filter((l) => l.includes('"msg":"applied"')).length;

test('a replica serves agents in namespaces; killed, its agents are on the primary within seconds without re-applying, and follow its next push (namespaces, veth)', async (t) => {
  const { servers, agents } = hosts(t);
  const dir = tmp(t);
  const repo = join(dir, 'rules.git');
  const mirror = join(dir, 'mirror.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const [pport, phttp, rport, rhttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const inServers = { prefix: ['ip', 'netns', 'exec', servers.name] };
  const primary = startCli(t, ['server', '--repo', repo, '--listen', `0.0.0.0:${pport}`, '--http', `127.0.0.1:${phttp}`, '--insecure-plaintext', '--log-level', 'info'], inServers);
  await primary.waitFor(/http listening/);
  const replica = startCli(
    t,
    ['server', '--repo', mirror, '--listen', `0.0.0.0:${rport}`, '--http', `127.0.0.1:${rhttp}`, '--mirror-of', `http://127.0.0.1:${phttp}/git/rules.git`, '--insecure-plaintext', '--log-level', 'info'],
    inServers,
  );
  await replica.waitFor(/wire protocol listening/, 30_000);

  const c1 = push(dir, repo, DEFAULT.replace(/"right": 22\b/, '"right": 2201'), 'first');
  const daemons = agents.map(({ ns, serverAddress }, i) =>
    startCli(
      t,
      ['agent', '--server', `${serverAddress}:${rport},${serverAddress}:${pport}`, '--ref', 'main', '--name', `edge-${i}`, '--nft', 'nft', '--state-dir', join(dir, `state-${i}`), '--confirm-window', '1', '--log-level', 'info'],
      { prefix: ['ip', 'netns', 'exec', ns.name] },
    ),
  );
  for (const [i, d] of daemons.entries()) {
    await d.waitFor(new RegExp(`"server":"${agents[i]!.serverAddress.replace(/\./g, '\\.')}:${rport}".*"msg":"connected"`), 15_000);
    await d.waitFor(new RegExp(`"commit":"${c1}".*"msg":"applied"`), 15_000);
  }
  for (const { ns } of agents) assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /dport 2201/, 'the replica served the primary\'s revision');
  // The agents reported to the replica; the primary's API knows them (reports forwarded).
  const fleet = async () => JSON.parse(servers.exec(['curl', '-sf', '--max-time', '2', `http://127.0.0.1:${phttp}/api/v1/agents`])) as { agents: Array<{ name: string; via?: string; connected: boolean; status?: { commit?: string } }> };
  await waitFor(async () => ((await fleet()).agents.filter((a) => a.via !== undefined && a.status?.commit === c1).length === 2 ? true : undefined), {
    what: 'both agents in the primary\'s API at c1, via the replica',
    timeoutMs: 10_000,
    intervalMs: 200,
  });

  const before = daemons.map(applies);
  const marks = daemons.map((d) => d.stdout().length);
  const killedAt = Date.now();
  assert.equal(await replica.stop('SIGKILL'), null);
  for (const [i, d] of daemons.entries()) {
    await d.waitFor(new RegExp(`"server":"${agents[i]!.serverAddress.replace(/\./g, '\\.')}:${pport}".*"msg":"connected"`), 15_000, marks[i]);
  }
  // An agent whose server dropped moves to the next after a jitter of up to 2 s (the whole fleet
  // of a dead server moves at once; backoff.failoverSpreadMs); the rest is load.
  const failover = Date.now() - killedAt;
  assert.ok(failover < 10_000, `both agents on the primary ${failover} ms after the replica died`);
  // Each agent's first pass with the primary ends in a report to it (no longer via the replica):
  // by then it has decided whether to apply.
  await waitFor(async () => ((await fleet()).agents.filter((a) => a.via === undefined && a.connected && a.status?.commit === c1).length === 2 ? true : undefined), {
    what: 'both agents reporting to the primary itself at c1',
    timeoutMs: 10_000,
    intervalMs: 200,
  });
  assert.deepEqual(daemons.map(applies), before, 'no agent applied its revision again after failing over');

  const c2 = push(dir, repo, DEFAULT.replace(/"right": 22\b/, '"right": 2202'), 'second');
  for (const d of daemons) await d.waitFor(new RegExp(`"commit":"${c2}".*"msg":"applied"`), 15_000);
  for (const { ns } of agents) assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /dport 2202/);
});
