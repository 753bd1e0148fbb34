/**
 * The agent daemon end to end, in process: a real server on a real git repository, the agent
 * applying with the real nft inside a throwaway network namespace.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createNftRunner } from '../../../host/nft-runner.js';
import { pullOnce } from '../../../agent/pull-once.js';
import type { ReconcileOutcome } from '../../../agent/reconcile/reconciler.js';
import { createNetns, type Netns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../helpers/server-fixture.js';
import { makeStateDir } from '../../helpers/temp-dir.js';
import { startTestAgent, type TestAgent } from '../../helpers/test-agent.js';
import { waitUntil } from '../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const FOREIGN = 'table ip fail2ban_like {\n  chain f2b {\n    type filter hook input priority -1; policy accept;\n    ip saddr 198.18.0.99 drop\n  }\n}\n';

/** default.json with TCP port 22 replaced by `port` (a visible, valid change). */
function withPort(port: number): string {
  return DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);
}


/** A test agent as host-1 on `ns`, with its state in `dir`. */
function startAgent(t: TestContext, f: Pick<ServerFixture, 'host' | 'port'>, ns: Netns, dir: string, ref = 'main', track = false): TestAgent {
  return startTestAgent(t, { host: f.host, port: f.port, nft: ns.nftCommand, stateDir: dir, ref, track });
}

const applied = (o: ReconcileOutcome) => o.kind === 'applied';

describe('agent daemon', () => {
  test('applies default, then a commit pushed to main reaches it; foreign tables survive', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'agent');
    ns.nft(['-f', '-'], FOREIGN);
    const foreign = ns.nft(['-a', 'list', 'table', 'ip', 'fail2ban_like']);
    const agent = startAgent(t, f, ns, makeStateDir(t));
    await agent.next(applied);
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);
    const id = f.push({ 'rulesets/default.json': withPort(2222) }, 'ssh on 2222');
    // From the push's return: git's own commit and push (synchronous here, 0.3-0.6 s under the
    // suite's load) are not the time it takes the change to reach the agent. Reported, not
    // bounded: the speed goal is bench/push-to-applied.ts's; 10 s only caps a wait that would hang.
    const t0 = performance.now();
    const o = await agent.next(applied, 10_000);
    t.diagnostic(`push to applied: ${Math.round(performance.now() - t0)} ms after git push returned`);
    assert.equal(o.kind === 'applied' && o.commit, id);
    assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 2222 accept/);
    assert.equal(ns.nft(['-a', 'list', 'table', 'ip', 'fail2ban_like']), foreign);
    // The server has its report.
    const rec = f.server.wire.registry.get('host-1');
    assert.equal(rec?.status?.commit, id);
    assert.equal(rec?.status?.state, 'Applied');
  });

  test('an invalid ruleset on the branch is refused and the old ruleset stays in force', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'invalid');
    const agent = startAgent(t, f, ns, makeStateDir(t));
    const good = await agent.next(applied);
    const before = ns.nft(['list', 'ruleset']);
    // Three kinds of bad revision, each slipped past any push-time check.
    const bad: Array<[string, string]> = [
      ['not JSON', '{"nftables": [ oops'],
      ['schema', '{"nftables":[{"table":{"family":"nope","name":"x"}}]}'],
      ['refused by nft', DEFAULT.replace('"policy": "drop"', '"policy": "sideways"')],
    ];
    for (const [why, content] of bad) {
      f.forceIntoBare({ 'rulesets/default.json': content }, why);
      const o = await agent.next((x) => x.kind === 'failed');
      assert.equal(o.kind, 'failed', why);
      assert.equal(ns.nft(['list', 'ruleset']), before, `${why}: ruleset unchanged`);
      const rec = f.server.wire.registry.get('host-1');
      assert.equal(rec?.status?.commit, good.kind === 'applied' ? good.commit : '', `${why}: status still shows the good commit`);
      assert.equal(rec?.status?.state, 'Failed');
    }
    // A good revision after that is applied.
    f.forceIntoBare({ 'rulesets/default.json': withPort(2200) }, 'fixed');
    await agent.next(applied);
    assert.match(ns.nft(['list', 'ruleset']), /dport 2200/);
  });

  test('a revision nft loads differently is in force, reported Degraded, and not re-applied in a loop', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'readback');
    const dir = makeStateDir(t);
    const agent = startAgent(t, f, ns, dir);
    await agent.next(applied);
    // nft prints ct state sets in its own order: the file's order does not survive a reload.
    const reordered = DEFAULT.replace(/"established",\s*"related"/, '"related", "established"');
    assert.notEqual(reordered, DEFAULT);
    const id = f.push({ 'rulesets/default.json': reordered.replace(/"right": 22\b/, '"right": 2424') }, 'reordered');
    const o = await agent.next((x) => x.kind === 'failed');
    assert.equal(o.kind === 'failed' && o.error.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
    assert.match(ns.nft(['list', 'ruleset']), /dport 2424 accept/, 'the transaction happened');
    const rec = f.server.wire.registry.get('host-1');
    assert.equal(rec?.status?.commit, id, 'status names the revision in force');
    assert.equal(rec?.status?.state, 'Degraded');
    assert.equal(rec?.status?.conditions[0]?.reason, 'ReadbackMismatch');
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    assert.equal(state.commit, id);
    // An unrelated push: same blob, so nothing is re-applied.
    f.push({ 'notes.txt': 'x' });
    const next = await agent.next();
    assert.equal(next.kind, 'unchanged');
  });

  test('--track-tags follows the highest matching semantic version, moving when a higher tag is pushed', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'track');
    const tag = (name: string, port: number) => {
      f.commit({ 'rulesets/default.json': withPort(port) }, `release ${name}`);
      f.git(['tag', '-a', name, '-m', name]);
      f.git(['push', '-q', 'origin', 'HEAD:main', name]);
    };
    tag('v1.2.0', 1200);
    tag('v1.10.0', 1100);
    tag('v1.9.0', 1900);
    const agent = startAgent(t, f, ns, makeStateDir(t), 'v1.*', true);
    await agent.next(applied);
    assert.match(ns.nft(['list', 'ruleset']), /dport 1100 accept/, 'v1.10.0 is the highest, not the newest');
    assert.equal(f.server.wire.registry.get('host-1')?.status?.tag, 'v1.10.0');
    // A tag outside the pattern and a lower one change nothing; a higher one is followed.
    tag('v2.0.0', 2000);
    tag('v1.3.0', 1300);
    tag('v1.11.0', 1111);
    // From the tag's push returning (git runs synchronously here). The agent polls nothing and
    // does not retry a missing ref: only the server's 'moved' (its ref watcher's file events, or
    // their 1 s poll) brings the tag; 5 s is generous for that, under load.
    const t0 = performance.now();
    const o = await agent.next(applied, 10_000);
    const ms = performance.now() - t0;
    t.diagnostic(`tag pushed to applied: ${Math.round(ms)} ms`);
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
    assert.equal(o.kind === 'applied' && o.commit, f.git(['rev-parse', 'v1.11.0^{commit}']));
    assert.match(ns.nft(['list', 'ruleset']), /dport 1111 accept/);
    assert.ok(agent.outcomes.filter(applied).length === 2, 'nothing applied for v2.0.0 or v1.3.0');
  });

  test('an agent following a release that does not exist yet applies it once the tag is pushed', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'notyet');
    const agent = startAgent(t, f, ns, makeStateDir(t), 'v*', true);
    const first = await agent.next();
    assert.equal(first.kind === 'failed' && first.error.code, 'NFTSYNC_ERR_REF_NOT_FOUND');
    assert.equal(f.server.wire.registry.get('host-1')?.status?.conditions[0]?.reason, 'FetchFailed');
    assert.equal(ns.nft(['list', 'ruleset']), '', 'nothing applied');
    f.git(['tag', '-a', 'v1.0.0', '-m', 'first release']);
    f.git(['push', '-q', 'origin', 'v1.0.0']);
    // From the push's return (git runs synchronously here). NFTSYNC_ERR_REF_NOT_FOUND is not
    // retried and the agent polls nothing: only the server's 'moved' brings the tag.
    const t0 = performance.now();
    await agent.next(applied, 10_000);
    const ms = performance.now() - t0;
    t.diagnostic(`tag pushed to applied: ${Math.round(ms)} ms`);
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
    assert.match(ns.nft(['list', 'ruleset']), /dport 22 accept/);
  });

  test('pull pins a tag and a commit', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'pin');
    f.git(['tag', '-a', 'v1.0.0', '-m', 'v1']);
    f.git(['push', '-q', 'origin', 'v1.0.0']);
    const old = f.git(['rev-parse', 'HEAD']);
    f.push({ 'rulesets/default.json': withPort(2022) });
    const dir = makeStateDir(t);
    const common = { host: f.host, port: f.port, agent: 'pin-1', nft: createNftRunner(ns.nftCommand), stateDir: dir, logger: quietLogger };
    const byTag = await pullOnce({ ...common, ref: 'v1.0.0' });
    assert.equal(byTag.commit, old);
    assert.match(ns.nft(['list', 'ruleset']), /dport 22 accept/);
    const byMain = await pullOnce({ ...common, ref: 'main' });
    assert.match(ns.nft(['list', 'ruleset']), /dport 2022 accept/);
    const byCommit = await pullOnce({ ...common, ref: old.slice(0, 10) });
    assert.equal(byCommit.commit, old);
    assert.match(ns.nft(['list', 'ruleset']), /dport 22 accept/);
    assert.notEqual(byMain.commit, old);
    await assert.rejects(pullOnce({ ...common, ref: 'v9.9.9' }), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
  });

  test('server down: the agent keeps its ruleset, restarts on last-known-good, and converges when it is back', async (t) => {
    const f = await startServerFixture(t);
    const ns = createNetns(t, 'outage');
    const dir = makeStateDir(t);
    const agent = startAgent(t, f, ns, dir);
    await agent.next(applied);
    const inForce = ns.nft(['list', 'ruleset']);
    await f.stop();
    await agent.stop();
    // The host loses its ruleset (reboot) while the server is still down.
    ns.nft(['flush', 'ruleset']);
    const again = startAgent(t, f, ns, dir);
    await waitUntil('last-known-good re-applied without the server', () => ns.nft(['list', 'ruleset']) === inForce);
    assert.ok(again.outcomes.every((o) => o.kind !== 'applied'));
    // A change lands while the server is down; it comes back and the agent converges.
    f.forceIntoBare({ 'rulesets/default.json': withPort(2323) }, 'while down');
    await f.restart();
    await again.next(applied, 5000);
    assert.match(ns.nft(['list', 'ruleset']), /dport 2323 accept/);
  });
});
