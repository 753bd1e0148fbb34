/**
 * Rollback and status end to end: a real server with its HTTP API, agents (runAgentDaemon)
 * applying with the real nft inside throwaway namespaces, and the real `nft-sync rollback` and
 * `nft-sync status` processes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { parseTokenList } from '../../shared/config/token-list.js';
import { runCli } from '../helpers/cli-process.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { startServerFixture, type ServerFixture } from '../helpers/server-fixture.js';
import { startTestAgent } from '../helpers/test-agent.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const TOKEN = 'ops-token-0123456789abcdef';
/** A valid but bad change: SSH (port 22) is no longer accepted. */
const CLOSES_SSH = DEFAULT.replace(/"right": 22\b/, '"right": 2222');

function startAgent(t: TestContext, f: ServerFixture, ns: Netns, name: string) {
  /** When each commit was applied (performance.now(), ms), so a wait that starts late still sees it. */
  const appliedAt = new Map<string, number>();
  const agent = startTestAgent(t, { host: f.host, port: f.port, agent: name, nft: ns.nftCommand, onOutcome: (o) => void (o.kind === 'applied' && appliedAt.set(o.commit, performance.now())) });
  /** Resolves with the time (performance.now(), ms) the agent applied `commit`, at once if it already has. */
  return async (commit: string, timeoutMs = 5000): Promise<number> => {
    await agent.next((o) => o.kind === 'applied' && o.commit === commit, timeoutMs, true);
    return appliedAt.get(commit)!;
  };
}

async function serverWithHttp(t: TestContext) {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} ops-oncall\n`) });
  return { f, url: `http://127.0.0.1:${f.server.httpAddress!.port}` };
}

describe('rollback and status (CLI)', () => {
  test('a bad push is rolled back with nft-sync rollback; the agent is back on the old rules soon after (within 5 s); history intact', async (t) => {
    const { f, url } = await serverWithHttp(t);
    const ns = createNetns(t, 'rb');
    const good = f.git(['rev-parse', 'HEAD']);
    const appliedBy = startAgent(t, f, ns, 'host-1');
    await appliedBy(good);
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);
    const bad = f.push({ 'rulesets/default.json': CLOSES_SSH }, 'move ssh to 2222 (oops)');
    await appliedBy(bad);
    assert.doesNotMatch(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);

    // Refused without a token and with a wrong one: one line with the code, exit 1; nothing moves.
    const noToken = await runCli(['rollback', '--http', url, '--branch', 'main', '--to', good], { env: { NFT_SYNC_TOKEN: '' } });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /^nft-sync: NFTSYNC_ERR_AUTH_REQUIRED: /);
    assert.equal(noToken.stderr.trim().split('\n').length, 1);
    const wrong = await runCli(['rollback', '--http', url, '--branch', 'main', '--to', good], { env: { NFT_SYNC_TOKEN: 'not-the-token-0123456789' } });
    assert.match(wrong.stderr, /NFTSYNC_ERR_AUTH_REQUIRED/);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), bad);
    const usage = await runCli(['rollback', '--http', url, '--branch', 'main']);
    assert.equal(usage.code, 2);

    const res = await runCli(['rollback', '--http', url, '--branch', 'main', '--to', good.slice(0, 10)], { env: { NFT_SYNC_TOKEN: TOKEN } });
    assert.equal(res.code, 0, res.stderr);
    const rollback = res.stdout.trim();
    assert.match(rollback, /^[0-9a-f]{40}$/);
    // Generous for a loaded machine: the agent polls nothing, so only the server's 'moved' for the
    // rollback commit brings it (negative: applied before the CLI had exited).
    const cliReturned = performance.now();
    const ms = Math.round((await appliedBy(rollback, 10_000)) - cliReturned);
    t.diagnostic(`rollback applied ${ms} ms after the CLI returned`);
    assert.ok(ms < 5000, `applied ${ms} ms after the CLI returned`);
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);
    assert.deepEqual(f.git(['rev-list', 'main'], f.bare).split('\n'), [rollback, bad, good], 'history intact: the bad commit stays');
    assert.match(f.git(['log', '-1', '--format=%B', 'main'], f.bare), new RegExp(`^Roll back rulesets to ${good.slice(0, 10)}[\\s\\S]*Requested by: ops-oncall`));
    const again = await runCli(['rollback', '--http', url, '--branch', 'main', '--to', good], { env: { NFT_SYNC_TOKEN: TOKEN } });
    // Nothing to change: exit 0, and it says so (the branch head on stdout, as a rollback would).
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${rollback}\n`);
    assert.match(again.stderr, /^nft-sync: nothing to roll back: branch main/);
  });

  test('nft-sync status prints two agents as a table and as JSON', async (t) => {
    const { f, url } = await serverWithHttp(t);
    const head = f.git(['rev-parse', 'HEAD']);
    const a1 = startAgent(t, f, createNetns(t, 'st1'), 'host-1');
    const a2 = startAgent(t, f, createNetns(t, 'st2'), 'host-2');
    await Promise.all([a1(head), a2(head)]);
    // The report follows the apply; give it a moment to arrive.
    for (let i = 0; i < 50 && f.server.wire.registry.list().filter((a) => a.status?.commit === head).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const table = await runCli(['status', '--http', url]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+REF\s+RULESET\s+REVISION\s+STATE\s+REASON\s+LAST SEEN\s+CONNECTED$/);
    assert.equal(lines.length, 3);
    for (const [i, name] of ['host-1', 'host-2'].entries()) {
      assert.match(lines[i + 1]!, new RegExp(`^${name}\\s+main\\s+default\\s+${head.slice(0, 12)}\\s+Applied\\s+Applied\\s+(now|\\d+s ago)\\s+yes$`));
    }
    const json = await runCli(['status', '--http', url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const { agents, version, ready } = JSON.parse(json.stdout);
    assert.equal(version, 1);
    assert.equal(ready, true);
    assert.equal(agents[0].commit, head);
    assert.equal(agents[0].ruleset, 'default');
    assert.deepEqual(agents.map((a: { name: string }) => a.name), ['host-1', 'host-2']);
    assert.equal(agents[0].status.commit, head);
    assert.equal(agents[0].status.conditions[0].reason, 'Applied');
    assert.equal(agents[1].connected, true);
    // The same server over a real socket: one agent, a ruleset, and the metrics.
    const one = await fetch(`${url}/api/v1/agents/host-2`);
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { status: { state: string } }).status.state, 'Applied');
    const rs = await fetch(`${url}/api/v1/rulesets/default?ref=${head.slice(0, 7)}&raw=1`);
    assert.equal(await rs.text(), DEFAULT);
    const missing = await fetch(`${url}/api/v1/rulesets/..%2F..%2Fetc%2Fpasswd`);
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^nftsync_agents\{state="Applied"\} 2$/m);
    assert.match(metrics, /^nftsync_wire_connections 2$/m);
    assert.match(metrics, /^nftsync_agents_connected 2$/m);
    const down = await runCli(['status', '--http', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^nft-sync: NFTSYNC_ERR_CONN_FAILED: /);
  });
});
