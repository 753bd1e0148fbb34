/**
 * Staged rollouts through the real server: real git pushes, real wire connections named as
 * agents (protocol clients standing in for agents: they report what a real agent reports, with
 * no nft), and the HTTP API. The e2e test with real agents in namespaces is
 * tests/e2e/rollout-waves.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import type { AgentStatus } from '../../../../shared/wire/messages.js';
import { addElements, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import net from 'node:net';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { encodeMessage, type DecodedMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';
import { waitFor } from '../../../helpers/wait-for.js';

const CONFIG = 'rollouts:\n  main:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 50\n      - percent: 100\n';
const NAMES = ['canary-1', 'web-1', 'web-2', 'web-3', 'web-4'];

interface Fake {
  name: string;
  client: WireClient;
  moved: string[];
}

async function connect(t: TestContext, fx: ServerFixture, name: string): Promise<Fake> {
  const client = await WireClient.connect({ host: fx.host, port: fx.port, agent: name });
  t.after(() => client.close());
  const fake: Fake = { name, client, moved: [] };
  client.on('moved', (_ref, commit) => fake.moved.push(commit));
  await client.subscribe('main');
  return fake;
}

function applied(name: string, commit: string): AgentStatus {
  return { agent: name, ref: 'main', commit, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] };
}
function rolledBack(name: string, kept: string, attempted: string): AgentStatus {
  return { agent: name, ref: 'main', commit: kept, attemptedCommit: attempted, state: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off' }] };
}

/** waitFor (tests/helpers/wait-for.ts) with the wait's name first. */
function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<NonNullable<T>> {
  return waitFor(fn, { what, timeoutMs: ms, intervalMs: 50 });
}

async function api(fx: ServerFixture, method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${fx.server.httpAddress!.port}${path}`, { method });
  return { status: res.status, body: await res.json() };
}

async function served(f: Fake): Promise<string> {
  return (await f.client.fetch({ ref: 'main' })).commit;
}

test('a new revision goes wave by wave; a RolledBack canary halts it, the state survives a restart, abort and resume act as documented', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const c0 = fx.git(['rev-parse', 'HEAD']);
  let fakes = await Promise.all(NAMES.map((n) => connect(t, fx, n)));
  for (const f of fakes) await f.client.report(applied(f.name, c0));

  // 1. The push carrying the rollout config is itself rolled out: canaries first.
  const a = fx.push({ 'nft-sync.yaml': CONFIG }, 'rollouts');
  const [canary, ...webs] = fakes as [Fake, ...Fake[]];
  await until('the canary told of A', () => canary.moved.includes(a));
  assert.equal(await served(canary), a);
  for (const w of webs) assert.equal(await served(w), c0, `${w.name} stays on the previous revision`);
  let view = (await api(fx, 'GET', '/api/v1/rollouts/main')).body;
  assert.equal(view.phase, 'running');
  assert.equal(view.wave, 0);
  assert.deepEqual(view.waves.map((w: { agents: string[] }) => w.agents.length), [1, 2, 2]);
  const wave2: string[] = view.waves[1].agents;

  // 2. The canary Applied and held 1 s: wave 2 (and only it) hears of A.
  await canary.client.report(applied('canary-1', a));
  for (const w of webs) {
    if (wave2.includes(w.name)) await until(`${w.name} told of A`, () => w.moved.includes(a));
  }
  for (const w of webs) assert.equal(await served(w), wave2.includes(w.name) ? a : c0, w.name);
  assert.deepEqual(webs.filter((w) => !wave2.includes(w.name)).flatMap((w) => w.moved), [], 'wave 3 heard nothing');
  for (const w of webs.filter((w) => wave2.includes(w.name))) await w.client.report(applied(w.name, a));
  await until('wave 3 told of A', () => webs.every((w) => w.moved.includes(a)));
  for (const w of webs) await w.client.report(applied(w.name, a));
  view = (await until('rollout complete', async () => {
    const v = (await api(fx, 'GET', '/api/v1/rollouts/main')).body;
    return v.phase === 'complete' ? v : undefined;
  }));
  assert.ok(view.waves.every((w: { confirmedAt?: number }) => typeof w.confirmedAt === 'number'));
  assert.ok(view.waves[1].confirmedAt - view.waves[0].confirmedAt >= 1000, 'each wave held at least 1 s');

  // 3. B: the canary rolls back; the rollout halts and the rest stay on A, across a restart.
  const b = fx.push({ 'rulesets/default.json': readFileSync(join(fx.clone, 'rulesets/default.json'), 'utf8').replace('"right": 22', '"right": 2222') }, 'b');
  await until('the canary told of B', () => canary.moved.includes(b));
  await canary.client.report(rolledBack('canary-1', a, b));
  view = await until('halted', async () => {
    const v = (await api(fx, 'GET', '/api/v1/rollouts/main')).body;
    return v.phase === 'halted' ? v : undefined;
  });
  assert.equal(view.haltedBy.agent, 'canary-1');
  assert.equal(view.haltedBy.reason, 'RolledBack');
  assert.equal(view.previous.commit, a);
  // Not a wait for something: the hold (1 s) passes, and nothing may happen in it.
  await new Promise((r) => setTimeout(r, 1500));
  for (const w of webs) {
    assert.equal(await served(w), a, `${w.name} stays on A`);
    assert.ok(!w.moved.includes(b));
  }
  assert.ok(existsSync(join(fx.bare, 'nft-sync', 'rollouts.json')));
  await fx.stop();
  await fx.restart();
  fakes = await Promise.all(NAMES.map((n) => connect(t, fx, n)));
  assert.equal((await api(fx, 'GET', '/api/v1/rollouts/main')).body.phase, 'halted', 'the halt survives a restart');
  assert.equal(await served(fakes[0]!), b, 'the canary is still served B');
  for (const w of fakes.slice(1)) assert.equal(await served(w), a, `${w.name} on A after the restart`);
  const list = (await api(fx, 'GET', '/api/v1/rollouts')).body;
  assert.deepEqual(list.rollouts.map((r: { name: string }) => r.name), ['main']);

  // 4. Abort: the canary goes back to A (told so); the branch stays at B.
  const abort = await api(fx, 'POST', '/api/v1/rollouts/main/abort');
  assert.equal(abort.status, 200, JSON.stringify(abort.body));
  assert.equal(abort.body.phase, 'aborted');
  await until('the canary told of A again', () => fakes[0]!.moved.includes(a));
  assert.equal(await served(fakes[0]!), a);
  assert.equal(fx.git(['rev-parse', 'main'], fx.bare), b, 'the branch is not moved back');
  const again = await api(fx, 'POST', '/api/v1/rollouts/main/abort');
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'NFTSYNC_ERR_ROLLOUT_STATE');
  assert.equal((await api(fx, 'GET', '/api/v1/rollouts/nope')).body.error.code, 'NFTSYNC_ERR_ROLLOUT_NOT_FOUND');

  // 5. C starts from A (B never completed); halted again, then resumed: wave 2 gets C.
  const c = fx.push({ 'rulesets/default.json': readFileSync(join(fx.clone, 'rulesets/default.json'), 'utf8').replace('"right": 2222', '"right": 2223') }, 'c');
  await until('the canary told of C', () => fakes[0]!.moved.includes(c));
  await fakes[0]!.client.report(rolledBack('canary-1', a, c));
  await until('halted on C', async () => (await api(fx, 'GET', '/api/v1/rollouts/main')).body.phase === 'halted' || undefined);
  const resumed = await api(fx, 'POST', '/api/v1/rollouts/main/resume');
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  assert.equal(resumed.body.wave, 1);
  for (const w of fakes.slice(1)) {
    if (wave2.includes(w.name)) await until(`${w.name} told of C`, () => w.moved.includes(c));
    else assert.equal(await served(w), a);
  }
});

test('waves work for agents tracking tags: a new highest tag goes to the canary first, the others keep the previous release', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const tagConfig = 'rollouts:\n  tags:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n';
  const v1 = fx.push({ 'nft-sync.yaml': tagConfig }, 'v1');
  fx.git(['tag', 'v1.0.0', v1]);
  fx.git(['push', '-q', 'origin', 'v1.0.0']);
  const track = async (name: string) => {
    const client = await WireClient.connect({ host: fx.host, port: fx.port, agent: name });
    t.after(() => client.close());
    const moved: string[] = [];
    client.on('moved', (_ref, commit) => moved.push(commit));
    assert.equal(await client.subscribe('v*', { track: true }), v1);
    return { client, moved };
  };
  const canary = await track('canary-1');
  const web = await track('web-1');
  await canary.client.report({ ...applied('canary-1', v1), ref: 'v*', tag: 'v1.0.0' });
  await web.client.report({ ...applied('web-1', v1), ref: 'v*', tag: 'v1.0.0' });

  const v2 = fx.push({ 'rulesets/default.json': readFileSync(join(fx.clone, 'rulesets/default.json'), 'utf8').replace('"right": 22', '"right": 2222') }, 'v2');
  fx.git(['tag', 'v1.1.0', v2]);
  fx.git(['push', '-q', 'origin', 'v1.1.0']);
  await until('the canary told of v1.1.0', () => canary.moved.includes(v2));
  const c = await canary.client.fetch({ ref: 'v*', track: true });
  assert.deepEqual([c.tag, c.commit], ['v1.1.0', v2]);
  const w = await web.client.fetch({ ref: 'v*', track: true });
  assert.deepEqual([w.tag, w.commit], ['v1.0.0', v1], 'the other agent keeps the previous release');
  assert.deepEqual(web.moved, []);
  const view = (await api(fx, 'GET', `/api/v1/rollouts/${encodeURIComponent('tags:v*')}`)).body;
  assert.equal(view.phase, 'running');
  assert.equal(view.target.tag, 'v1.1.0');

  await canary.client.report({ ...applied('canary-1', v2), ref: 'v*', tag: 'v1.1.0' });
  await until('web-1 told of v1.1.0 after the hold', () => web.moved.includes(v2));
  assert.equal((await web.client.fetch({ ref: 'v*', track: true })).tag, 'v1.1.0');
});

test('a tip pushed while the server was down is rolled out after the restart, to the waves of the saved fleet', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const c0 = fx.git(['rev-parse', 'HEAD']);
  const fakes = await Promise.all(['canary-1', 'web-1'].map((n) => connect(t, fx, n)));
  for (const f of fakes) await f.client.report(applied(f.name, c0));
  const a = fx.push({ 'nft-sync.yaml': 'rollouts:\n  main:\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n' }, 'rollouts, hold 0');
  await fakes[0]!.client.report(applied('canary-1', a));
  await until('web-1 told of A', () => fakes[1]!.moved.includes(a));
  await fakes[1]!.client.report(applied('web-1', a));
  await until('complete', async () => (await api(fx, 'GET', '/api/v1/rollouts/main')).body.phase === 'complete' || undefined);
  for (const f of fakes) f.client.close();
  await fx.stop();
  const b = fx.push({ 'rulesets/default.json': readFileSync(join(fx.clone, 'rulesets/default.json'), 'utf8').replace('"right": 22', '"right": 2222') }, 'b, server down');
  await fx.restart();
  // The restarted server knows no agent yet; the fleet comes from the saved rollout.
  const web = await connect(t, fx, 'web-1');
  assert.equal(await served(web), a, 'web-1 waits for the canary');
  const view = (await api(fx, 'GET', '/api/v1/rollouts/main')).body;
  assert.equal(view.target.commit, b);
  assert.deepEqual(view.waves.map((w: { agents: string[] }) => w.agents), [['canary-1'], ['web-1']]);
  const canary = await connect(t, fx, 'canary-1');
  assert.equal(await served(canary), b);
});

async function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 22);
  const got: DecodedMessage<ServerMessage>[] = [];
  socket.on('data', (chunk) => got.push(...reader.push(chunk)));
  return { send: (msg: object) => socket.write(encodeMessage(msg as never)), got, close: () => socket.destroy() };
}

const AHEAD_CONFIG = 'rollouts:\n  main:\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n';
const appliedStatus = (agent: string, commit: string) => ({ agent, ref: 'main', commit, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });

test('security (protocol 2): under a rollout, an agent of wave 2 still served A gets no `ahead` delta of B, which the canaries get first', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const base = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
  const elem = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  fx.push({ 'rulesets/default.json': renderRuleset({ nftables: [...base.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] } as Ruleset) }, 'blocklist');
  const canary = await WireClient.connect({ host: fx.host, port: fx.port, agent: 'canary-1' });
  t.after(() => canary.close());
  const cMoved: string[] = [];
  canary.on('moved', (_r, c) => cMoved.push(c));
  await canary.subscribe('main');
  const web = await rawClient(fx.port);
  t.after(() => web.close());
  web.send({ type: 'hello', versions: [1, 2], agent: 'web-1' });
  web.send({ type: 'subscribe', id: 1, ref: 'main', ahead: true });
  await waitFor(() => web.got.some((m) => m.message.type === 'subscribed'), { timeoutMs: 10_000, what: 'subscribed' });

  const rollOut = async (a: string, id: number): Promise<void> => {
    await waitFor(() => cMoved.includes(a), { timeoutMs: 10_000, what: 'canary told of A' });
    await canary.report(appliedStatus('canary-1', a) as never);
    await waitFor(() => web.got.some((m) => m.message.type === 'moved' && m.message.commit === a), { timeoutMs: 15_000, what: 'web told of A' });
    // web fetches A (the server serves it A: #lastServed = A) and reports it.
    web.send({ type: 'fetch', id, ref: 'main' });
    await waitFor(() => web.got.some((m) => m.message.type === 'ruleset' && m.message.commit === a), { timeoutMs: 10_000, what: 'web served A' });
    web.send({ type: 'report', id: id + 1, status: appliedStatus('web-1', a) });
    await waitFor(async () => {
      const v = await (await fetch(`http://127.0.0.1:${fx.server.httpAddress!.port}/api/v1/rollouts/main`)).json() as { phase: string; target?: { commit: string } };
      return (v.phase === 'complete' && JSON.stringify(v).includes(a)) || undefined;
    }, { timeoutMs: 15_000, what: 'rollout complete' });
  };
  const change = (add: string[]): Promise<string> => addElements(fx, add);
  await rollOut(fx.push({ 'nft-sync.yaml': AHEAD_CONFIG }, 'rollouts'), 10);
  // A: made by the element API (the tip then keeps what it served: the base of the next delta).
  const a = await change(['198.19.0.9']);
  await rollOut(a, 20);
  // B through the element API: a new rollout, canaries first.
  const b = await change(['198.19.0.1']);
  await waitFor(() => cMoved.includes(b), { timeoutMs: 10_000, what: 'canary told of B' });
  await new Promise((r) => setTimeout(r, 500));
  // web is in wave 2: it is still served A and was not told of B ...
  web.send({ type: 'fetch', id: 7, ref: 'main' });
  await waitFor(() => web.got.some((m) => 'id' in m.message && m.message.id === 7), { timeoutMs: 10_000, what: 'web fetch answer' });
  const answer = web.got.find((m) => 'id' in m.message && m.message.id === 7)!.message;
  assert.ok('commit' in answer && answer.commit === a, 'web is still served A');
  assert.ok(!web.got.some((m) => m.message.type === 'moved' && m.message.commit === b), 'web not told of B');
  // ... yet it got B's delta.
  const aheadB = web.got.filter((m) => m.message.type === 'ahead' && m.message.commit === b);
  assert.equal(aheadB.length, 0, `web (wave 2, served A) got ${aheadB.length} ahead frame(s) for B (${aheadB[0]?.body?.length ?? 0} bytes of B's elements)`);
});
