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
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { renderRuleset } from '../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../shared/ruleset/ruleset-types.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { tempDir, testGitEnv } from '../../helpers/git-fixture.js';
import { waitFor } from '../../helpers/wait-for.js';

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
  const url = `http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/rulesets/default/sets/inet/nft_sync/blk/elements`;
  const change = async (add: string[]): Promise<string> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ add }) });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { commit: string }).commit;
  };
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
