/**
 * `nft-sync status` for scripts: exit 3 while some agent is not Ready, 0 once all are; --watch
 * prints every poll until SIGINT and exits with the last poll's code. A real server and real
 * agents (runAgentDaemon) applying with nft in throwaway namespaces; `status` runs as a process.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ReconcileOutcome } from '../../agent/reconcile/reconciler.js';
import { runCli, startCli } from '../helpers/cli-process.js';
import { createNetns } from '../helpers/netns.js';
import { startServerFixture, type ServerFixture } from '../helpers/server-fixture.js';
import { startTestAgent } from '../helpers/test-agent.js';

/** Start an agent following `ref`; resolves once its first pass has been reported. */
function agent(t: TestContext, f: ServerFixture, name: string, ref: string): Promise<ReconcileOutcome> {
  const ns = createNetns(t, 'stat');
  return startTestAgent(t, { host: f.host, port: f.port, agent: name, ref, nft: ns.nftCommand, watchDrift: false }).next(undefined, 30_000, true);
}

test('status exits 3 while an agent is not Ready and 0 when all are; --watch repeats until SIGINT', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const url = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const empty = await runCli(['status', '--http', url]);
  assert.equal(empty.code, 0, 'no agent, none is not Ready');
  assert.equal((await agent(t, f, 'host-1', 'main')).kind, 'applied');
  const ok = await runCli(['status', '--http', url]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  // An agent following a branch that does not exist: FetchFailed, not Ready.
  assert.equal((await agent(t, f, 'host-2', 'release')).kind, 'failed');
  const notReady = await runCli(['status', '--http', url]);
  assert.equal(notReady.code, 3, notReady.stdout + notReady.stderr);
  assert.match(notReady.stdout, /\nhost-2 +release +- +- +Failed +FetchFailed /);
  const json = await runCli(['status', '--http', url, '--json']);
  assert.equal(json.code, 3);
  const doc = JSON.parse(json.stdout) as { ready: boolean; agents: Array<{ name: string; ready: boolean; reason: string }> };
  assert.equal(doc.ready, false);
  assert.deepEqual(doc.agents.map((a) => [a.name, a.ready, a.reason]), [['host-1', true, 'Applied'], ['host-2', false, 'FetchFailed']]);

  // --watch with JSON: one document per line per poll; SIGINT ends it with the last poll's code.
  const watch = startCli(t, ['status', '--http', url, '--json', '--watch', '0.2']);
  let out = '';
  watch.child.stdout!.on('data', (c) => (out += c));
  const deadline = Date.now() + 10_000;
  while (out.split('\n').filter((l) => l.startsWith('{')).length < 2) {
    assert.ok(Date.now() < deadline, `fewer than 2 polls: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await watch.stop('SIGINT'), 3);
  for (const line of out.trim().split('\n')) assert.equal((JSON.parse(line) as { ready: boolean }).ready, false);

  // --watch alone takes the default interval; a bad one gets the range message.
  const bad = await runCli(['status', '--http', url, '--watch', '-1']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'nft-sync: NFTSYNC_ERR_USAGE: --watch must be a number of seconds from 0.1 to 3600, got "-1"\n');
  const bare = startCli(t, ['status', '--watch', '--http', url]);
  let table = '';
  bare.child.stdout!.on('data', (c) => (table += c));
  while (!/CONNECTED/.test(table)) {
    assert.ok(Date.now() < deadline + 10_000, table);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(table, /every 2s/);
  assert.equal(await bare.stop('SIGTERM'), 3);
});

test('status --forget NAME: a retired agent no longer counts (exit 0 again); refused while it is connected, and for an unknown name', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const url = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const ns = createNetns(t, 'stat');
  const live = startTestAgent(t, { host: f.host, port: f.port, agent: 'retired-1', ref: 'release', nft: ns.nftCommand, watchDrift: false });
  assert.equal((await live.next(undefined, 30_000, true)).kind, 'failed', 'a branch that does not exist: not Ready');
  assert.equal((await runCli(['status', '--http', url])).code, 3);
  const connected = await runCli(['status', '--http', url, '--forget', 'retired-1']);
  assert.equal(connected.code, 1, connected.stderr);
  assert.match(connected.stderr, /NFTSYNC_ERR_AGENT_CONNECTED: agent "retired-1" is connected to this server/);
  await live.stop();
  const stopped = await runCli(['status', '--http', url]);
  assert.equal(stopped.code, 3, 'a stopped agent still counts');
  assert.match(stopped.stdout, /retired-1/);
  const forgot = await runCli(['status', '--http', url, '--forget', 'retired-1']);
  assert.equal(forgot.code, 0, forgot.stdout + forgot.stderr);
  assert.equal(forgot.stderr, 'nft-sync: forgot agent retired-1\n');
  assert.doesNotMatch(forgot.stdout, /retired-1/);
  const unknown = await runCli(['status', '--http', url, '--forget', 'retired-1']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /NFTSYNC_ERR_AGENT_NOT_FOUND/);
});
