/**
 * Stopping nft-sync in the middle of a confirm window (two namespaces joined by a veth pair, the
 * processes inside them, so a ruleset that drops the agent's traffic really cuts it off):
 *  - `pull` stopped by SIGINT or SIGTERM puts the previous ruleset back at once, says so, and
 *    exits 130 or 143, without marking the revision as failed;
 *  - the daemon stopped by SIGTERM says it waits out the window and what it will then do.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, startCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const LOCKOUT = DEFAULT.replace(/("name": "output",[\s\S]*?"policy": )"accept"/, '$1"drop"');
const WIRE_PORT = 7421;
const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8' }).trim();


/** Two namespaces joined by a veth pair (198.18.0.9/30 and .10); removed after the test. */
function twoHosts(t: TestContext): { server: Netns; agent: Netns } {
  const server = createNetns(t, 'isrv');
  const agent = createNetns(t, 'iagt');
  const tag = randomBytes(3).toString('hex');
  const [a, s] = [`nsi-a${tag}`, `nsi-s${tag}`];
  execFileSync('ip', ['link', 'add', a, 'netns', agent.name, 'type', 'veth', 'peer', 'name', s, 'netns', server.name]);
  server.exec(['ip', 'addr', 'add', '198.18.0.9/30', 'dev', s]);
  server.exec(['ip', 'link', 'set', s, 'up']);
  agent.exec(['ip', 'addr', 'add', '198.18.0.10/30', 'dev', a]);
  agent.exec(['ip', 'link', 'set', a, 'up']);
  return { server, agent };
}

async function setup(t: TestContext) {
  const { server, agent } = twoHosts(t);
  const dir = makeTempDir(t, 'nft-sync-intr-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const srv = startCli(t, ['server', '--repo', repo, '--listen', `198.18.0.9:${WIRE_PORT}`, '--insecure-plaintext'], { prefix: ['ip', 'netns', 'exec', server.name] });
  await srv.waitFor(/wire protocol listening/);
  const clone = join(dir, 'clone');
  git(dir, ['clone', '-q', repo, clone]);
  const push = (content: string, message: string) => {
    writeFileSync(join(clone, 'rulesets/default.json'), content);
    git(clone, ['commit', '-qam', message]);
    git(clone, ['push', '-q', 'origin', 'main']);
    return git(clone, ['rev-parse', 'HEAD']);
  };
  const state = join(dir, 'state');
  const flags = ['--server', `198.18.0.9:${WIRE_PORT}`, '--ref', 'main', '--name', 'host-1', '--nft', 'nft', '--state-dir', state];
  const inAgent = { prefix: ['ip', 'netns', 'exec', agent.name] };
  return { agent, push, state, flags, inAgent, srv };
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`pull stopped by ${signal} in its confirm window restores the previous ruleset at once and says so (exit ${code})`, async (t) => {
    const s = await setup(t);
    const first = startCli(t, ['pull', ...s.flags, '--confirm-window', '5'], s.inAgent);
    assert.equal(await new Promise((r) => first.child.on('close', r)), 0, first.stderr());
    const good = s.agent.nft(['list', 'table', 'inet', 'nft_sync']);
    const previous = JSON.parse(readFileSync(join(s.state, 'state.json'), 'utf8')).commit as string;
    const bad = s.push(LOCKOUT, 'lock the host out');

    const pull = startCli(t, ['pull', ...s.flags, '--confirm-window', '300', '--log-level', 'debug'], s.inAgent);
    await pull.waitFor(/"msg":"confirming/, 15_000);
    assert.notEqual(s.agent.nft(['list', 'table', 'inet', 'nft_sync']), good, 'the unconfirmed revision is in force');
    // Well inside a 300 s window: a pull that waited the window out would time the test out.
    assert.equal(await pull.stop(signal), code, pull.stderr());
    assert.equal(s.agent.nft(['list', 'table', 'inet', 'nft_sync']), good, 'the previous ruleset is back');
    // The one coded line says it (the log's own lines on stderr may be flushed after it).
    const coded = pull.stderr().trim().split('\n').filter((l) => l.startsWith('nft-sync: '));
    assert.deepEqual(coded, [`nft-sync: NFTSYNC_ERR_INTERRUPTED: interrupted by ${signal} before revision ${bad} was confirmed; restored revision ${previous}`]);
    // Nothing held against the revision: no pending mark, no failure recorded.
    const state = JSON.parse(readFileSync(join(s.state, 'state.json'), 'utf8')) as { commit: string; pending?: unknown; lastFailed?: unknown };
    assert.equal(state.commit, previous);
    assert.equal(state.pending, undefined);
    assert.equal(state.lastFailed, undefined);
  });
}

test('pull stopped by SIGINT before anything was applied changes nothing and says so', async (t) => {
  // A server that accepts and never answers: the pull waits for its welcome.
  let accepted: () => void = () => {};
  const connected = new Promise<void>((r) => (accepted = r));
  const silent = createServer((socket) => (accepted(), socket.on('error', () => {})));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => silent.close());
  const ns = createNetns(t, 'iearly');
  const dir = makeTempDir(t, 'nft-sync-intr-');
  const pull = startCli(t, ['pull', '--server', `127.0.0.1:${(silent.address() as AddressInfo).port}`, '--ref', 'main', '--name', 'h', '--nft', ns.nftCommand, '--state-dir', join(dir, 'state')]);
  await connected;
  assert.equal(await pull.stop('SIGINT'), 130, pull.stderr());
  assert.equal(pull.stderr(), 'nft-sync: NFTSYNC_ERR_INTERRUPTED: interrupted by SIGINT before anything was applied; nothing was changed\n');
  assert.equal(ns.nft(['list', 'ruleset']), '', 'nothing applied');
});

test('the daemon stopped by SIGTERM in a confirm window says it waits the window out, and what it will do', async (t) => {
  const s = await setup(t);
  s.push(DEFAULT.replace(/"right": 22\b/, '"right": 2200'), 'first');
  const ag = startCli(t, ['agent', ...s.flags, '--confirm-window', '3', '--log-level', 'info'], s.inAgent);
  await ag.waitFor(/revision confirmed/, 15_000);
  const good = s.agent.nft(['list', 'table', 'inet', 'nft_sync']);
  const from = ag.stdout().length;
  s.push(LOCKOUT, 'lock the host out');
  await ag.waitFor(/"msg":"confirming: reaching the server through the new ruleset; if that fails within the window, the previous ruleset is restored"/, 15_000, from);
  const stopped = ag.stop('SIGTERM');
  await ag.waitFor(/"confirmWindowMs":3000,"msg":"stopping once the change in flight ends: a revision in its confirm window stays if the server is reached through it in time, else the previous ruleset is restored"/, 10_000, from);
  assert.equal(await stopped, 0);
  assert.match(ag.stdout().slice(from), /previous ruleset restored/);
  assert.equal(s.agent.nft(['list', 'table', 'inet', 'nft_sync']), good);
});
