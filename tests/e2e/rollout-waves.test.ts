/**
 * Staged rollouts with real agents: the server in one network namespace, three agents each in
 * its own, joined to the server's by a veth pair (198.18.0.0/30, .4/30, .8/30). Every agent runs
 * as a real `nft-sync agent` process inside its namespace, so its traffic to the server crosses
 * the ruleset it applies. nft-sync.yaml declares three waves: the canary, 50% of the rest, all.
 *
 * First a revision goes through all three waves in order. Then a revision that locks the canary
 * out: the canary rolls back and reports RolledBack, the rollout halts, and the two other agents
 * stay on the previous revision; `nft-sync rollout status` says so (exit 3), `abort` ends it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, startCli, type CliDaemon } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const WIRE_PORT = 7421;
const HTTP_PORT = 7422;
const CONFIG = 'rollouts:\n  main:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 50\n      - percent: 100\n';
const AGENTS = ['canary-1', 'web-1', 'web-2'];

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8' }).trim();

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'nft-sync-waves-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The server's namespace and one namespace per agent, each joined to the server's by a veth pair. */
function hosts(t: TestContext): { server: Netns; agents: Array<{ ns: Netns; serverAddress: string }> } {
  const server = createNetns(t, 'wsrv');
  const tag = randomBytes(3).toString('hex');
  const agents = AGENTS.map((_, i) => {
    const ns = createNetns(t, `wag${i}`);
    const [a, s] = [`nwa${i}${tag}`, `nws${i}${tag}`];
    execFileSync('ip', ['link', 'add', a, 'netns', ns.name, 'type', 'veth', 'peer', 'name', s, 'netns', server.name]);
    const base = 4 * i;
    server.exec(['ip', 'addr', 'add', `198.18.0.${base + 1}/30`, 'dev', s]);
    server.exec(['ip', 'link', 'set', s, 'up']);
    ns.exec(['ip', 'addr', 'add', `198.18.0.${base + 2}/30`, 'dev', a]);
    ns.exec(['ip', 'link', 'set', a, 'up']);
    return { ns, serverAddress: `198.18.0.${base + 1}` };
  });
  return { server, agents };
}

function push(dir: string, repo: string, files: Record<string, string>, message: string): string {
  const clone = join(dir, `clone-${randomBytes(4).toString('hex')}`);
  git(dir, ['clone', '-q', repo, clone]);
  for (const [path, content] of Object.entries(files)) writeFileSync(join(clone, path), content);
  git(clone, ['add', '-A']);
  git(clone, ['commit', '-qm', message]);
  git(clone, ['push', '-q', 'origin', 'main']);
  return git(clone, ['rev-parse', 'HEAD']);
}

interface AgentRow {
  name: string;
  status?: { state: string; commit?: string; attemptedCommit?: string; appliedAt?: string; conditions: Array<{ type: string; reason: string }> };
}
interface Rollout {
  phase: string;
  wave: number;
  waves: Array<{ agents: string[]; startedAt?: number; confirmedAt?: number }>;
  haltedBy?: { agent: string; reason: string };
  previous: { commit: string };
  target: { commit: string };
}

function api<T>(server: Netns, path: string): T {
  return JSON.parse(server.exec(['curl', '-sf', '--max-time', '2', `http://198.18.0.1:${HTTP_PORT}${path}`])) as T;
}

/** waitFor (tests/helpers/wait-for.ts) with the wait's name first. */
function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<NonNullable<T>> {
  return waitFor(fn, { what, timeoutMs: ms, intervalMs: 200 });
}

/** Run `nft-sync ARGS` to completion inside namespace `ns`. */
function runCliIn(ns: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'cli/main.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('three waves with real agents: a revision reaches canary, then 50%, then all, in order; a revision that locks the canary out halts the rollout and the rest stay on the previous revision (namespaces, veth)', async (t) => {
  const { server, agents } = hosts(t);
  const dir = tmp(t);
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const token = randomBytes(16).toString('hex');
  writeFileSync(join(dir, 'tokens'), `${token} operator\n`, { mode: 0o600 });
  const srv = startCli(
    t,
    ['server', '--repo', repo, '--listen', `0.0.0.0:${WIRE_PORT}`, '--http', `0.0.0.0:${HTTP_PORT}`, '--token-file', join(dir, 'tokens'), '--insecure-plaintext', '--log-level', 'info'],
    { prefix: ['ip', 'netns', 'exec', server.name] },
  );
  await srv.waitFor(/wire protocol listening/);
  // The config arrives before any agent is known: its own rollout has empty waves and completes.
  const first = push(dir, repo, { 'nft-sync.yaml': CONFIG, 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2200') }, 'rollouts, first');
  const daemons: CliDaemon[] = agents.map(({ ns, serverAddress }, i) =>
    startCli(
      t,
      ['agent', '--server', `${serverAddress}:${WIRE_PORT}`, '--ref', 'main', '--name', AGENTS[i]!, '--nft', 'nft', '--state-dir', join(dir, `state-${i}`), '--confirm-window', '2', '--log-level', 'info'],
      { prefix: ['ip', 'netns', 'exec', ns.name] },
    ),
  );
  await Promise.all(daemons.map((d) => d.waitFor(/revision confirmed/, 20_000)));
  const rows = () => api<{ agents: AgentRow[] }>(server, '/api/v1/agents').agents;
  await until('every agent Applied on the first revision', () => (rows().filter((a) => a.status?.commit === first && a.status.state === 'Applied').length === 3 ? true : undefined), 15_000);

  // Happy path: the second revision goes wave by wave.
  const second = push(dir, repo, { 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2201') }, 'second');
  const done = await until(
    'the rollout of the second revision complete',
    () => {
      const r = api<Rollout>(server, '/api/v1/rollouts/main');
      return r.target.commit === second && r.phase === 'complete' ? r : undefined;
    },
    60_000,
  );
  assert.deepEqual(done.waves.map((w) => w.agents), [['canary-1'], [done.waves[1]!.agents[0]!], [done.waves[2]!.agents[0]!]]);
  const order = done.waves.map((w) => w.agents[0]!);
  assert.deepEqual([...order].sort(), AGENTS);
  const appliedAt = (name: string) => Date.parse(rows().find((a) => a.name === name)!.status!.appliedAt!);
  await until('every agent Applied on the second revision', () => (rows().every((a) => a.status?.commit === second) ? true : undefined), 15_000);
  assert.ok(appliedAt(order[0]!) < appliedAt(order[1]!) && appliedAt(order[1]!) < appliedAt(order[2]!), `applied in wave order: ${order.map(appliedAt).join(' < ')}`);
  for (let i = 1; i < 3; i++) {
    assert.ok(done.waves[i]!.startedAt! - appliedAt(order[i - 1]!) >= 1000, `wave ${i + 1} started after wave ${i} held 1 s`);
  }
  for (const { ns } of agents) assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2201 accept/);

  // A revision that drops all output: it locks the canary out, which rolls back, and the rollout halts.
  const canaryLog = daemons[0]!.stdout().length;
  const bad = push(dir, repo, { 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2201').replace(/("name": "output",[\s\S]*?"policy": )"accept"/, '$1"drop"') }, 'lock out');
  await daemons[0]!.waitFor(/previous ruleset restored/, 20_000, canaryLog);
  const halted = await until(
    'the rollout halted',
    () => {
      const r = api<Rollout>(server, '/api/v1/rollouts/main');
      return r.target.commit === bad && r.phase === 'halted' ? r : undefined;
    },
    20_000,
  );
  assert.equal(halted.haltedBy!.agent, 'canary-1');
  assert.equal(halted.haltedBy!.reason, 'RolledBack');
  assert.equal(halted.previous.commit, second);
  // Well past the hold: the others never got the bad revision.
  // Not a wait for something: well past the hold (1 s), nothing may reach the others.
  await new Promise((r) => setTimeout(r, 4000));
  for (const name of ['web-1', 'web-2']) {
    const st = rows().find((a) => a.name === name)!.status!;
    assert.equal(st.commit, second, `${name} stays on the previous revision`);
    assert.notEqual(st.attemptedCommit, bad, `${name} never tried the bad revision`);
  }
  for (const { ns } of agents) assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2201 accept/);
  for (const { ns } of agents.slice(1)) assert.doesNotMatch(ns.nft(['list', 'chain', 'inet', 'nft_sync', 'output']), /policy drop/);

  // The CLI shows it (exit 3 for a halted rollout) and aborts it.
  const st = await runCliIn(server.name, ['rollout', 'status', '--http', `http://198.18.0.1:${HTTP_PORT}`, '--branch', 'main']);
  assert.equal(st.code, 3, st.stderr);
  assert.match(st.stdout, /rollout main: HALTED/);
  assert.match(st.stdout, /halted by canary-1: RolledBack/);
  const status = await runCliIn(server.name, ['status', '--http', `http://198.18.0.1:${HTTP_PORT}`]);
  assert.match(status.stdout, /rollout main: HALTED/);
  const ab = await runCliIn(server.name, ['rollout', 'abort', '--http', `http://198.18.0.1:${HTTP_PORT}`, '--branch', 'main'], { ...process.env, NFT_SYNC_TOKEN: token });
  assert.equal(ab.code, 0, ab.stderr);
  assert.match(ab.stdout, /ABORTED/);
  for (const d of daemons) assert.equal(await d.stop(), 0);
  await srv.stop();
});
