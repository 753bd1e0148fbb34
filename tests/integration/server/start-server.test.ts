/**
 * server/start-server.ts: everything started together (wire protocol, HTTP, the pre-receive hook,
 * the push-check hand-off) and stopped together; refusals before anything listens.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { WireClient } from '../../../agent/wire/wire-client.js';
import { initRepository } from '../../../server/git/init-repository.js';
import { HOOK_MARKER } from '../../../server/push/pre-receive-hook.js';
import { startServer } from '../../../server/start-server.js';
import { addElements, quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { renderRuleset } from '../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../shared/ruleset/ruleset-types.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { tempDir, testGitEnv } from '../../helpers/git-fixture.js';
import { waitFor } from '../../helpers/wait-for.js';
import { encodeMessage, type DecodedMessage } from '../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../shared/wire/messages.js';
import { rebuildFromRulesetDelta } from '../../../shared/wire/ruleset-delta.js';

const refused = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port });
  s.once('connect', () => (s.destroy(), resolve(false)));
  s.once('error', () => resolve(true));
});

test('startServer: wire and HTTP on their ports, the hook installed, a push seen; close() stops both listeners', async (t) => {
  const bare = join(tempDir(t, 'nft-sync-start-'), 'rules.git');
  const { commit } = await initRepository(bare, 'repo-template');
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, logger: quietLogger });
  let open = true;
  t.after(() => (open ? server.close() : undefined));
  assert.match(readFileSync(join(bare, 'hooks', 'pre-receive'), 'utf8'), new RegExp(HOOK_MARKER));
  const c = await WireClient.connect({ host: '127.0.0.1', port: server.wireAddress.port, agent: 'a' });
  assert.equal(await c.subscribe('main'), commit);
  // A push (here the branch moved by update-ref, as git would): seen once, counted once.
  const git = (args: string[]) => execFileSync('git', ['--git-dir', bare, ...args], { encoding: 'utf8', env: { ...process.env, ...testGitEnv() } }).trim();
  const next = git(['commit-tree', `${commit}^{tree}`, '-p', commit, '-m', 'again']);
  git(['update-ref', 'refs/heads/main', next, commit]);
  const moves = await waitFor(async () => {
    const text = await (await fetch(`http://127.0.0.1:${server.httpAddress!.port}/metrics`)).text();
    const n = Number(/^nftsync_ref_moves_total (\d+)$/m.exec(text)?.[1] ?? 0);
    return n > 0 ? n : undefined;
  }, { what: 'the ref move in /metrics', timeoutMs: 5000 });
  assert.equal(moves, 1, 'one move counted once');
  c.close();
  const ready = await fetch(`http://127.0.0.1:${server.httpAddress!.port}/readyz`);
  assert.equal(ready.status, 200);
  await server.close();
  open = false;
  assert.equal(await refused(server.wireAddress.port), true, 'wire closed');
  assert.equal(await refused(server.httpAddress!.port), true, 'HTTP closed');
});

test('startServer refuses plain TCP on a public address (NFTSYNC_ERR_LISTEN_INSECURE) and a repository that is not there', async (t) => {
  const dir = tempDir(t, 'nft-sync-start-');
  await assert.rejects(startServer({ repo: dir, listen: { host: '198.18.0.1', port: 0 }, logger: quietLogger }), { code: 'NFTSYNC_ERR_LISTEN_INSECURE' });
  await assert.rejects(startServer({ repo: join(dir, 'none.git'), listen: { host: '127.0.0.1', port: 0 }, logger: quietLogger }), { code: 'NFTSYNC_ERR_REPO_NOT_FOUND' });
});

test('an element API change: subscribed agents are told without a file event or a poll, and the delta from the revision they hold is ready when they fetch', async (t) => {
  // Neither file events nor a poll within the test: only the element API's own word can tell them.
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, refWatch: { fsEvents: false, pollMs: 600_000 } });
  const base = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
  const elem = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const first = f.push({ 'rulesets/default.json': renderRuleset({ nftables: [...base.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] } as Ruleset) }, 'blocklist');
  const c = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'a' });
  t.after(() => c.close());
  const moved: string[] = [];
  c.on('moved', (_ref, commit) => moved.push(commit));
  // Subscribed before the watcher has seen the push (no events, no poll): the first move it is told of counts.
  await c.subscribe('main');
  const change = (add: string[]): Promise<string> => addElements(f, add);
  const one = await change(['198.19.0.1']);
  assert.notEqual(one, first);
  await waitFor(() => moved.includes(one), { timeoutMs: 10_000, what: 'the agent told of the change' });
  const held = await c.fetch({ ref: 'main' });
  assert.ok(held.kind === 'ruleset' && held.commit === one);
  const two = await change(['198.19.0.2', '198.19.0.3']);
  await waitFor(() => moved.includes(two), { timeoutMs: 10_000, what: 'the agent told of the second change' });
  const encodes = f.server.wire.frames.deltaEncodes;
  const next = await c.fetch({ ref: 'main', have: { commit: one, blob: held.blob }, base: held.bytes });
  assert.ok(next.kind === 'ruleset' && next.commit === two && next.delta !== undefined, 'a delta came');
  assert.equal(f.server.wire.frames.deltaEncodes, encodes, 'the delta was ready: the fetch did not work it out');
  assert.equal(gitBlobId(next.bytes), next.blob);
});

/** A bare protocol client: frames sent as given, every frame received kept in order. */
async function rawClient(port: number): Promise<{ send(msg: object): void; got: DecodedMessage<ServerMessage>[]; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const got: DecodedMessage<ServerMessage>[] = [];
  socket.on('data', (chunk) => got.push(...reader.push(chunk)));
  return { send: (msg) => socket.write(encodeMessage(msg as never)), got, close: () => socket.destroy() };
}

test('protocol 2: an element API change sends `ahead` (the delta from the revision this server last served the agent) just before `moved`, only to agents that asked and were served its base; version 1 may not ask', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, refWatch: { fsEvents: false, pollMs: 600_000 } });
  const base = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
  const elem = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  f.push({ 'rulesets/default.json': renderRuleset({ nftables: [...base.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] } as Ruleset) }, 'blocklist');
  const change = (add: string[]): Promise<string> => addElements(f, add);
  const one = await change(['198.19.0.1']);
  const fetcher = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'x' });
  t.after(() => fetcher.close());
  const held = await fetcher.fetch({ ref: 'main' });
  assert.ok(held.kind === 'ruleset' && held.commit === one);
  // Three agents of version 2: served the revision, served nothing but saying (reporting) they
  // hold it, served it but not asking. Only what the server served counts, never a report.
  const clients = await Promise.all(['holds', 'says', 'unasked'].map(() => rawClient(f.port)));
  t.after(() => clients.forEach((c) => c.close()));
  const [holds, says, unasked] = clients as [Awaited<ReturnType<typeof rawClient>>, Awaited<ReturnType<typeof rawClient>>, Awaited<ReturnType<typeof rawClient>>];
  for (const [c, name, fetched, ahead] of [[holds, 'holds', true, true], [says, 'says', false, true], [unasked, 'unasked', true, false]] as const) {
    c.send({ type: 'hello', versions: [1, 2], agent: name });
    if (fetched) c.send({ type: 'fetch', id: 3, ref: 'main' });
    c.send({ type: 'subscribe', id: 1, ref: 'main', ...(ahead && { ahead: true }) });
    c.send({ type: 'report', id: 2, status: { agent: name, ref: 'main', ruleset: 'default', commit: one, blob: held.blob, state: 'Applied', conditions: [] } });
    await waitFor(() => c.got.some((m) => m.message.type === 'ack'), { timeoutMs: 10_000, what: `${name} subscribed and reported` });
  }
  const two = await change(['198.19.0.2', '198.19.0.3']);
  for (const c of clients) await waitFor(() => c.got.some((m) => m.message.type === 'moved' && m.message.commit === two), { timeoutMs: 10_000, what: 'moved' });
  const types = (c: typeof holds) => c.got.map((m) => m.message.type).filter((type) => type === 'ahead' || type === 'moved');
  assert.deepEqual(types(holds), ['ahead', 'moved'], 'ahead, just before moved');
  assert.deepEqual(types(says), ['moved'], 'an agent never served the base gets no delta against it, whatever it reports');
  assert.deepEqual(types(unasked), ['moved']);
  const ahead = holds.got.find((m) => m.message.type === 'ahead')!;
  assert.ok(ahead.message.type === 'ahead' && ahead.body !== undefined);
  if (ahead.message.type !== 'ahead') return;
  assert.deepEqual({ commit: ahead.message.commit, base: ahead.message.base, ruleset: ahead.message.ruleset }, { commit: two, base: held.blob, ruleset: 'default' });
  // The delta rebuilds the revision's bytes: those its fetch answers with, under the blob id that answer names.
  const rebuilt = rebuildFromRulesetDelta(held.bytes, ahead.body!, 1 << 30).bytes;
  assert.equal(rebuilt.length, ahead.message.target);
  const answer = await fetcher.fetch({ ref: 'main' });
  assert.ok(answer.kind === 'ruleset' && answer.commit === two && answer.bytes.equals(rebuilt));
  // Version 1 does not know `ahead`: asking for it is refused.
  const v1 = await rawClient(f.port);
  t.after(() => v1.close());
  v1.send({ type: 'hello', versions: [1], agent: 'old' });
  v1.send({ type: 'subscribe', id: 1, ref: 'main', ahead: true });
  await waitFor(() => v1.got.some((m) => m.message.type === 'error'), { timeoutMs: 10_000, what: 'the refusal' });
  const refused = v1.got.find((m) => m.message.type === 'error')!.message;
  assert.ok(refused.type === 'error' && refused.code === 'NFTSYNC_ERR_MSG_INVALID' && /version 2/.test(refused.message), JSON.stringify(refused));
});
