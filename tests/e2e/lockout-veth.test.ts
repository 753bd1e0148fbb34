/**
 * Two hosts: the server in one network namespace, the agent in another, joined by a veth pair
 * (198.18.0.1/30 and 198.18.0.2/30). Both run as real `nft-sync` processes INSIDE their
 * namespaces, so the agent's traffic to the server really crosses the ruleset it applies.
 * A pushed ruleset that drops that traffic is rolled back within the confirm window, the
 * server's HTTP API says RolledBack, and the next good revision is applied.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, startCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitUntil } from '../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const WIRE_PORT = 7411;
const HTTP_PORT = 7412;

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8' }).trim();


/** Two namespaces joined by a veth pair; the namespaces (and with them the pair) go after the test. */
function twoHosts(t: TestContext): { server: Netns; agent: Netns } {
  const server = createNetns(t, 'srv');
  const agent = createNetns(t, 'agt');
  const tag = randomBytes(3).toString('hex');
  const [a, s] = [`nsv-a${tag}`, `nsv-s${tag}`];
  execFileSync('ip', ['link', 'add', a, 'netns', agent.name, 'type', 'veth', 'peer', 'name', s, 'netns', server.name]);
  t.after(() => {
    try {
      execFileSync('ip', ['link', 'delete', a], { stdio: 'ignore' });
    } catch {
      // gone with its namespace
    }
  });
  server.exec(['ip', 'addr', 'add', '198.18.0.1/30', 'dev', s]);
  server.exec(['ip', 'link', 'set', s, 'up']);
  agent.exec(['ip', 'addr', 'add', '198.18.0.2/30', 'dev', a]);
  agent.exec(['ip', 'link', 'set', a, 'up']);
  return { server, agent };
}

function push(dir: string, repo: string, content: string, message: string): string {
  const clone = join(dir, `clone-${randomBytes(4).toString('hex')}`);
  git(dir, ['clone', '-q', repo, clone]);
  writeFileSync(join(clone, 'rulesets/default.json'), content);
  git(clone, ['commit', '-qam', message]);
  git(clone, ['push', '-q', 'origin', 'main']);
  return git(clone, ['rev-parse', 'HEAD']);
}

/** GET /api/v1/agents from inside the server's namespace. */
function agents(server: Netns): Array<{ name: string; status?: { state: string; commit?: string; attemptedCommit?: string; conditions: Array<{ type: string; reason: string; message?: string }> } }> {
  const out = server.exec(['curl', '-sf', '--max-time', '2', `http://198.18.0.1:${HTTP_PORT}/api/v1/agents`]);
  const body = JSON.parse(out) as { agents?: unknown } | unknown[];
  return (Array.isArray(body) ? body : (body as { agents: unknown[] }).agents) as ReturnType<typeof agents>;
}


test('a ruleset that cuts the agent off from its server is rolled back within the window, and the status says RolledBack (two namespaces, veth)', async (t) => {
  const { server, agent } = twoHosts(t);
  const dir = makeTempDir(t, 'nft-sync-veth-');
  const repo = join(dir, 'rules.git');
  const init = await runCli(['init', repo]);
  assert.equal(init.code, 0, init.stderr);
  const srv = startCli(
    t,
    ['server', '--repo', repo, '--listen', `198.18.0.1:${WIRE_PORT}`, '--http', `198.18.0.1:${HTTP_PORT}`, '--insecure-plaintext', '--log-level', 'info'],
    { prefix: ['ip', 'netns', 'exec', server.name] },
  );
  await srv.waitFor(/wire protocol listening/);
  const first = push(dir, repo, DEFAULT.replace(/"right": 22\b/, '"right": 2200'), 'first');
  const ag = startCli(
    t,
    ['agent', '--server', `198.18.0.1:${WIRE_PORT}`, '--ref', 'main', '--name', 'host-1', '--nft', 'nft', '--state-dir', join(dir, 'state'), '--confirm-window', '3', '--log-level', 'info'],
    { prefix: ['ip', 'netns', 'exec', agent.name] },
  );
  await ag.waitFor(/revision confirmed/, 15_000);
  const good = agent.nft(['list', 'table', 'inet', 'nft_sync']);
  assert.match(good, /tcp dport 2200 accept/);

  // Output policy drop: nothing leaves the agent's namespace, new connections included.
  const from = ag.stdout().length;
  const bad = push(dir, repo, DEFAULT.replace(/("name": "output",[\s\S]*?"policy": )"accept"/, '$1"drop"'), 'lock the agent out');
  const t0 = performance.now();
  await ag.waitFor(/previous ruleset restored/, 15_000, from);
  const ms = Math.round(performance.now() - t0);
  assert.equal(agent.nft(['list', 'table', 'inet', 'nft_sync']), good, 'the previous ruleset is back');
  // The 3 s window, and room for a loaded machine: still far from the 30 s default window.
  assert.ok(ms < 3000 + 7000, `rolled back ${ms} ms after the push (window 3 s)`);
  const rec = await waitUntil(
    'RolledBack in GET /api/v1/agents',
    () => agents(server).find((a) => a.name === 'host-1' && a.status?.conditions[0]?.reason === 'RolledBack'),
    15_000,
  );
  assert.equal(rec.status!.attemptedCommit, bad);
  assert.equal(rec.status!.commit, first);
  assert.match(rec.status!.conditions[0]!.message ?? '', /NFTSYNC_ERR_CONFIRM_FAILED/);

  // The next good revision is applied (and confirmed).
  const fixed = push(dir, repo, DEFAULT.replace(/"right": 22\b/, '"right": 2201'), 'fixed');
  await waitUntil('the fixed revision in force', () => (agents(server).find((a) => a.name === 'host-1')?.status?.commit === fixed ? true : undefined), 15_000);
  assert.match(agent.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2201 accept/);
  t.diagnostic(`rolled back ${ms} ms after the push`);
  assert.equal(monitorsIn(agent.name).length, 1, 'the agent runs one drift listener');
  assert.equal(await ag.stop(), 0);
  assert.deepEqual(monitorsIn(agent.name), [], 'stopping the agent stops its drift listener');
  await srv.stop();
});

test('pull exits 0 only once the revision is confirmed, and 1 with CONFIRM_FAILED when it cuts the host off (two namespaces, veth)', async (t) => {
  const { server, agent } = twoHosts(t);
  const dir = makeTempDir(t, 'nft-sync-veth-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const srv = startCli(t, ['server', '--repo', repo, '--listen', `198.18.0.1:${WIRE_PORT}`, '--insecure-plaintext'], { prefix: ['ip', 'netns', 'exec', server.name] });
  await srv.waitFor(/wire protocol listening/);
  const pull = () =>
    runCliIn(agent.name, ['pull', '--server', `198.18.0.1:${WIRE_PORT}`, '--ref', 'main', '--name', 'host-1', '--nft', 'nft', '--state-dir', join(dir, 'state'), '--confirm-window', '2']);
  const ok = await pull();
  assert.equal(ok.code, 0, ok.stderr);
  const good = agent.nft(['list', 'table', 'inet', 'nft_sync']);
  push(dir, repo, DEFAULT.replace(/("name": "output",[\s\S]*?"policy": )"accept"/, '$1"drop"'), 'lock out');
  const bad = await pull();
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /NFTSYNC_ERR_CONFIRM_FAILED/);
  assert.equal(agent.nft(['list', 'table', 'inet', 'nft_sync']), good, 'the previous ruleset is back');
  await srv.stop();
});

test('an agent killed (SIGKILL) inside the confirm window of a cutting-off revision restores the confirmed one on restart (two namespaces, veth)', async (t) => {
  const { server, agent } = twoHosts(t);
  const dir = makeTempDir(t, 'nft-sync-veth-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const srv = startCli(
    t,
    ['server', '--repo', repo, '--listen', `198.18.0.1:${WIRE_PORT}`, '--http', `198.18.0.1:${HTTP_PORT}`, '--insecure-plaintext'],
    { prefix: ['ip', 'netns', 'exec', server.name] },
  );
  await srv.waitFor(/wire protocol listening/);
  const args = ['agent', '--server', `198.18.0.1:${WIRE_PORT}`, '--ref', 'main', '--name', 'host-1', '--nft', 'nft', '--state-dir', join(dir, 'state'), '--confirm-window', '4', '--log-level', 'info'];
  const prefix = { prefix: ['ip', 'netns', 'exec', agent.name] };
  const first = startCli(t, args, prefix);
  await first.waitFor(/revision confirmed/, 15_000);
  const good = agent.nft(['list', 'table', 'inet', 'nft_sync']);
  const from = first.stdout().length;
  const bad = push(dir, repo, DEFAULT.replace(/("name": "output",[\s\S]*?"policy": )"accept"/, '$1"drop"'), 'lock the agent out');
  await first.waitFor(/confirming/, 10_000, from);
  await new Promise((r) => setTimeout(r, 500));
  await first.stop('SIGKILL');
  assert.notEqual(agent.nft(['list', 'table', 'inet', 'nft_sync']), good, 'the cutting-off revision is in force when the agent dies');
  // The restarted agent restores before it can reach anything, then tries again and rolls back.
  const second = startCli(t, args, prefix);
  await second.waitFor(/restored the last confirmed ruleset/, 15_000);
  await second.waitFor(/previous ruleset restored/, 15_000);
  assert.equal(agent.nft(['list', 'table', 'inet', 'nft_sync']), good);
  const rec = await waitUntil(
    'RolledBack in GET /api/v1/agents',
    () => agents(server).find((a) => a.name === 'host-1' && a.status?.conditions[0]?.reason === 'RolledBack'),
    15_000,
  );
  assert.equal(rec.status!.attemptedCommit, bad);
  assert.equal(await second.stop(), 0);
  await srv.stop();
});

/** Pids of drift listeners (agent/drift/nft-events.py, or `nft monitor` without python3) running in namespace `ns`. */
function monitorsIn(ns: string): string[] {
  return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
    .split('\n')
    .filter((p) => {
      try {
        return p !== '' && /monitor|nft-events\.py/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
}

/** Run `nft-sync ARGS` to completion inside namespace `ns`. */
function runCliIn(ns: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
