/**
 * Git smart HTTP and push-time validation with the stock git client against a real server
 * (http-backend behind fastify), and the real nft in the validator's scratch namespace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'a1b2c3d4e5f6a7b8c9d0e1f2';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run git without blocking the event loop (the server runs in this process). */
function git(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: { ...testGitEnv(), GIT_TERMINAL_PROMPT: '0', ...env }, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
  const r = await git(args, cwd, env);
  assert.equal(r.code, 0, `git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

async function server(t: TestContext, tokens?: string): Promise<ServerFixture> {
  return startServerFixture(t, {
    http: { host: '127.0.0.1', port: 0 },
    installHook: true,
    tokens: tokens === undefined ? undefined : parseTokenList(tokens),
  });
}

/** A clone of the server's repository over HTTP, with `url` as its origin. */
async function httpClone(f: ServerFixture, name: string, url = f.gitUrl!): Promise<string> {
  await ok(['clone', '-q', url, name], f.dir);
  return join(f.dir, name);
}

async function commitFiles(dir: string, files: Record<string, string>, message = 'change'): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await ok(['add', '-A'], dir);
  await ok(['commit', '-q', '-m', message], dir);
  return ok(['rev-parse', 'HEAD'], dir);
}

function defaultRuleset(f: ServerFixture): { nftables: Array<Record<string, Record<string, unknown>>> } {
  return JSON.parse(readFileSync(join(f.clone, 'rulesets/default.json'), 'utf8'));
}

describe('git over HTTP', () => {
  test('clones with protocol v2 and v0', async (t) => {
    const f = await server(t);
    const v2 = await git(['-c', 'protocol.version=2', 'clone', f.gitUrl!, 'v2'], f.dir, { GIT_TRACE_PACKET: '1' });
    assert.equal(v2.code, 0, v2.stderr);
    assert.match(v2.stderr, /< version 2/);
    const v0 = await git(['-c', 'protocol.version=0', 'clone', f.gitUrl!, 'v0'], f.dir, { GIT_TRACE_PACKET: '1' });
    assert.equal(v0.code, 0, v0.stderr);
    assert.doesNotMatch(v0.stderr, /< version 2/);
    const head = f.git(['rev-parse', 'main'], f.bare);
    assert.equal(await ok(['rev-parse', 'HEAD'], join(f.dir, 'v2')), head);
    assert.equal(await ok(['rev-parse', 'HEAD'], join(f.dir, 'v0')), head);
  });

  test('a push is accepted and a subscribed agent is told of it', async (t) => {
    const f = await server(t);
    const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
    t.after(() => c.close());
    await c.subscribe('main');
    const moved = new Promise<[string, string]>((resolve) => c.once('moved', (ref: string, commit: string) => resolve([ref, commit])));
    const dir = await httpClone(f, 'work');
    const r = defaultRuleset(f);
    (r.nftables[2]!.chain as Record<string, unknown>).policy = 'accept';
    const id = await commitFiles(dir, { 'rulesets/default.json': JSON.stringify(r, null, 2) });
    const push = await git(['push', 'origin', 'HEAD:main'], dir);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: nft-sync: 1 ruleset\(s\) valid, loaded and read back/);
    assert.equal(f.server.pushChecks?.judged, 1, 'the hook handed the check to the server');
    assert.deepEqual(await moved, ['main', id]);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), id);
  });

  test('a gzip-compressed request body is inflated (upload-pack, v0)', async (t) => {
    const f = await server(t);
    const head = f.git(['rev-parse', 'main'], f.bare);
    const pkt = (s: string): string => (s.length + 4).toString(16).padStart(4, '0') + s;
    const body = gzipSync(Buffer.from(`${pkt(`want ${head} ofs-delta\n`)}0000${pkt('done\n')}`));
    const res = await fetch(`${f.gitUrl}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-result');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.subarray(0, 8).toString(), '0008NAK\n');
    assert.equal(bytes.subarray(8, 12).toString(), 'PACK');
  });

  test('a push far larger than fastify\'s body limit streams through to http-backend', async (t) => {
    const f = await server(t);
    const dir = await httpClone(f, 'work');
    writeFileSync(join(dir, 'big.bin'), randomBytes(8 * 1024 * 1024)); // incompressible: an 8 MiB pack
    await ok(['add', '-A'], dir);
    await ok(['commit', '-q', '-m', 'big'], dir);
    const push = await git(['-c', 'http.postBuffer=65536', 'push', 'origin', 'HEAD:main'], dir); // chunked upload
    assert.equal(push.code, 0, push.stderr);
    assert.equal(f.git(['rev-parse', 'main:big.bin'], f.bare), await ok(['rev-parse', 'HEAD:big.bin'], dir));
  });

  test('only the smart protocol is served', async (t) => {
    const f = await server(t);
    assert.equal((await fetch(`${f.gitUrl}/info/refs`)).status, 400); // dumb protocol
    assert.equal((await fetch(`${f.gitUrl}/info/refs?service=git-upload-archive`)).status, 400);
    assert.equal((await fetch(`${f.gitUrl}/HEAD`)).status, 404);
    assert.equal((await fetch(`${f.gitUrl}/objects/info/packs`)).status, 404);
  });
});

describe('tokens for git over HTTP', () => {
  test('a push without a token or with a wrong one gets 401; a good token pushes', async (t) => {
    const f = await server(t, `${TOKEN} alice\n`);
    const dir = await httpClone(f, 'work'); // reads are open by default
    const before = f.git(['rev-parse', 'main'], f.bare);
    await commitFiles(dir, { 'notes.txt': 'hello\n' });
    const none = await git(['push', 'origin', 'HEAD:main'], dir);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /Authentication failed|could not read Username|401/);
    const url = new URL(f.gitUrl!);
    url.username = 'x';
    url.password = 'wrong-token-wrong-token';
    const wrong = await git(['push', url.href, 'HEAD:main'], dir);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Authentication failed|401/);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), before);
    const res = await fetch(`${f.gitUrl}/info/refs?service=git-receive-pack`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="nft-sync"');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_AUTH_REQUIRED');
    url.password = TOKEN;
    const good = await git(['push', url.href, 'HEAD:main'], dir);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), await ok(['rev-parse', 'HEAD'], dir));
  });

  test('with readTokenRequired a clone needs the token too', async (t) => {
    const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN}\n`), readTokenRequired: true });
    const refused = await git(['clone', f.gitUrl!, 'anon'], f.dir);
    assert.notEqual(refused.code, 0);
    const url = new URL(f.gitUrl!);
    url.username = 'ci';
    url.password = TOKEN;
    await ok(['clone', '-q', url.href, 'withtoken'], f.dir);
  });
});

/** Each refused push: the files, then what git's output must show. */
const refusals: Array<[string, (f: ServerFixture) => Record<string, string>, RegExp]> = [
  ['broken JSON', () => ({ 'rulesets/default.json': '{"nftables": [\n  {"table": }\n]}\n' }), /rulesets\/default\.json \(blob [0-9a-f]{12}\): NFTSYNC_ERR_RULESET_JSON: .*line 2, column/],
  [
    'a schema error',
    (f) => {
      const r = defaultRuleset(f);
      (r.nftables[2]!.chain as Record<string, unknown>).polcy = 'drop';
      return { 'rulesets/default.json': JSON.stringify(r) };
    },
    /rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA: ruleset \/nftables\/2\/chain/,
  ],
  [
    'an nft error (a jump to a missing chain)',
    (f) => {
      const r = defaultRuleset(f);
      r.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ jump: { target: 'nowhere' } }] } });
      return { 'rulesets/default.json': JSON.stringify(r) };
    },
    /rulesets\/default\.json .*NFTSYNC_ERR_NFT_APPLY: nft refuses rule \d+ of chain inet nft_sync input \(\/nftables\/\d+\): .*No such file/,
  ],
  [
    'a rollout wave with both agents and percent',
    () => ({ 'nft-sync.yaml': 'rollouts:\n  main:\n    waves:\n      - agents: ["canary-*"]\n        percent: 10\n' }),
    /nft-sync\.yaml .*NFTSYNC_ERR_REPO_CONFIG_INVALID: nft-sync\.yaml: rollouts\.main\.waves\[0\]: needs exactly one of agents/,
  ],
  ['a bad nft-sync.yaml', () => ({ 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    rulset: web\n' }), /nft-sync\.yaml .*NFTSYNC_ERR_REPO_CONFIG_INVALID/],
  [
    'an nft-sync.yaml naming a missing ruleset',
    () => ({ 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n' }),
    /: nft-sync\.yaml \(blob [0-9a-f]{12}\): NFTSYNC_ERR_RULESET_NOT_FOUND: nft-sync\.yaml names ruleset "web", but rulesets\/web\.json is not in the commit/,
  ],
  [
    'an object that does not survive the round trip (a netdev chain loses its device)',
    () => ({
      'rulesets/edge.json': JSON.stringify({
        nftables: [
          { table: { family: 'netdev', name: 'edge' } },
          { chain: { family: 'netdev', table: 'edge', name: 'in', type: 'filter', hook: 'ingress', dev: 'lo', prio: 0, policy: 'accept' } },
        ],
      }),
    }),
    /rulesets\/edge\.json .*NFTSYNC_ERR_RULESET_LOSSY: .*chain netdev edge in: dev "lo" -> \(none\)/,
  ],
];

describe('push-time validation', () => {
  for (const [what, files, shown] of refusals) {
    test(`a push over HTTP with ${what} is refused, the reason shown, the refs unchanged`, async (t) => {
      const f = await server(t);
      const dir = await httpClone(f, 'work');
      const before = await ok(['ls-remote', f.gitUrl!], f.dir);
      await commitFiles(dir, files(f));
      const push = await git(['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, shown);
      assert.match(push.stderr, /remote: nft-sync: NFTSYNC_ERR_PUSH_REFUSED/);
      assert.match(push.stderr, /pre-receive hook declined/);
      assert.equal(await ok(['ls-remote', f.gitUrl!], f.dir), before);
    });
  }

  test('the same refusal holds for a push over a file path, and for a new branch', async (t) => {
    const f = await server(t);
    const before = f.git(['for-each-ref'], f.bare);
    f.commit({ 'rulesets/default.json': '{ not json' });
    const push = await git(['push', f.bare, 'HEAD:main', 'HEAD:refs/heads/other'], f.clone);
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /refs\/heads\/main .*rulesets\/default\.json .*NFTSYNC_ERR_RULESET_JSON/);
    assert.match(push.stderr, /refs\/heads\/other .*rulesets\/default\.json .*NFTSYNC_ERR_RULESET_JSON/);
    assert.equal(f.git(['for-each-ref'], f.bare), before);
  });

  test('several rulesets load together; only the bad one is named, and the fixed push passes', async (t) => {
    const f = await server(t);
    const variant = (port: number, jump?: string) => {
      const r = defaultRuleset(f);
      r.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, jump ? { jump: { target: jump } } : { accept: null }] } });
      return JSON.stringify(r);
    };
    f.commit({ 'rulesets/a.json': variant(1001), 'rulesets/b.json': variant(1002, 'missing'), 'rulesets/c.json': variant(1003) });
    const refused = await git(['push', f.bare, 'HEAD:main'], f.clone);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /rulesets\/b\.json .*NFTSYNC_ERR_NFT_APPLY/);
    assert.doesNotMatch(refused.stderr, /rulesets\/[ac]\.json/);
    f.commit({ 'rulesets/b.json': variant(1002) });
    const accepted = await git(['push', f.bare, 'HEAD:main'], f.clone);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stderr, /nft-sync: 3 ruleset\(s\) valid, loaded and read back/);
  });

  test('a comment nft would drop is a warning, not a refusal', async (t) => {
    const f = await server(t);
    const r = defaultRuleset(f);
    (r.nftables[2]!.chain as Record<string, unknown>).comment = 'ssh and icmp only';
    f.commit({ 'rulesets/default.json': JSON.stringify(r) });
    const push = await git(['push', f.bare, 'HEAD:main'], f.clone);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /warning: rulesets\/default\.json: chain inet nft_sync input: comment "ssh and icmp only" would be lost on the hosts/);
  });
});
