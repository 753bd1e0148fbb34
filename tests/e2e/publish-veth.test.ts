/**
 * Publishing live changes ("reverse GitOps") across three hosts: the server in one network
 * namespace, agents node-a and node-b in two others, each joined to the server by a veth pair
 * (198.18.1.0/30 and 198.18.2.0/30). Both agents run `--publish` on branch main with the write
 * token in NFT_SYNC_TOKEN; nft-sync.yaml lets `node-*` publish ruleset default.
 * - a rule added by hand on A (`ip netns exec A nft add rule ...`) is on B, its latency reported
 *   and bounded loosely (10 s): the goal of 2 s is bench/publish-latency.ts's row (under 1 s plus
 *   the 0.5 s quiet period), not a timed test's;
 * - changes made on A and B at the same moment to different objects both survive;
 * - changes to the same chain at the same moment: one is published, the other is reported as a
 *   PublishConflict (status condition and log line), and both hosts converge on the branch;
 * - nothing loops: the branch's commit count stays put once the hosts agree;
 * - a branch move during the quiet period does not wipe the live change: it is merged onto it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, startCli, type CliDaemon } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const WIRE_PORT = 7421;
const HTTP_PORT = 7422;
const TOKEN = 'publish-e2e-token-0123456789';
const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8' }).trim();

/** The template's ruleset plus an empty set `blk`, so element changes can be made by hand. */
function withSet(): string {
  const doc = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
  doc.nftables.splice(2, 0, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr' } });
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'nft-sync-publish-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Server, A and B namespaces; A and B each reach the server over their own veth pair. */
function threeHosts(t: TestContext): { server: Netns; a: Netns; b: Netns } {
  const server = createNetns(t, 'psrv');
  const a = createNetns(t, 'pa');
  const b = createNetns(t, 'pb');
  const tag = randomBytes(3).toString('hex');
  for (const [host, n] of [[a, 1], [b, 2]] as const) {
    const [h, s] = [`npv-h${n}${tag}`, `npv-s${n}${tag}`];
    execFileSync('ip', ['link', 'add', h, 'netns', host.name, 'type', 'veth', 'peer', 'name', s, 'netns', server.name]);
    server.exec(['ip', 'addr', 'add', `198.18.${n}.1/30`, 'dev', s]);
    server.exec(['ip', 'link', 'set', s, 'up']);
    host.exec(['ip', 'addr', 'add', `198.18.${n}.2/30`, 'dev', h]);
    host.exec(['ip', 'link', 'set', h, 'up']);
  }
  return { server, a, b };
}

async function until<T>(what: string, fn: () => T | undefined, ms: number, everyMs = 20): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    let v: T | undefined;
    try {
      v = fn();
    } catch {
      v = undefined;
    }
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Cluster {
  /** Stop the agents, then the server (which removes its scratch namespaces), with SIGTERM. */
  stop(): Promise<void>;
  clone: string;
  server: Netns;
  a: Netns;
  b: Netns;
  repo: string;
  agentA: CliDaemon;
  agentB: CliDaemon;
  table(ns: Netns): string;
  commits(): number;
  agents(): Array<{ name: string; status?: { commit?: string; conditions: Array<{ type: string; reason: string; message?: string }> } }>;
}

async function cluster(t: TestContext, quiet = '0.5'): Promise<Cluster> {
  const { server, a, b } = threeHosts(t);
  const dir = tmp(t);
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const clone = join(dir, 'clone');
  git(dir, ['clone', '-q', repo, clone]);
  writeFileSync(join(clone, 'rulesets/default.json'), withSet());
  writeFileSync(join(clone, 'nft-sync.yaml'), 'version: 1\nagents: []\nrulesets:\n  default:\n    publishers: ["node-*"]\n');
  git(clone, ['commit', '-qam', 'a set, and node-* may publish']);
  git(clone, ['push', '-q', 'origin', 'main']);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `${TOKEN} ops\n`);
  const srv = startCli(
    t,
    ['server', '--repo', repo, '--listen', `0.0.0.0:${WIRE_PORT}`, '--http', `127.0.0.1:${HTTP_PORT}`, '--insecure-plaintext', '--token-file', tokens, '--log-level', 'info'],
    { prefix: ['ip', 'netns', 'exec', server.name] },
  );
  await srv.waitFor(/wire protocol listening/);
  const agent = (ns: Netns, n: number, name: string) =>
    startCli(
      t,
      ['agent', '--server', `198.18.${n}.1:${WIRE_PORT}`, '--ref', 'main', '--name', name, '--state-dir', join(dir, `state-${name}`), '--publish', '--publish-quiet', quiet, '--log-level', 'info'],
      { prefix: ['ip', 'netns', 'exec', ns.name, 'env', `NFT_SYNC_TOKEN=${TOKEN}`] },
    );
  const agentA = agent(a, 1, 'node-a');
  const agentB = agent(b, 2, 'node-b');
  await Promise.all([agentA.waitFor(/"msg":"applied"/, 20_000), agentB.waitFor(/"msg":"applied"/, 20_000)]);
  return {
    async stop() {
      assert.deepEqual(await Promise.all([agentA.stop(), agentB.stop()]), [0, 0]);
      assert.equal(await srv.stop(), 0);
      // agent --publish is a daemon too: its log on stdout, nothing on stderr.
      for (const d of [agentA, agentB, srv]) assert.equal(d.stderr(), '');
    },
    clone,
    server,
    a,
    b,
    repo,
    agentA,
    agentB,
    table: (ns) => ns.nft(['list', 'table', 'inet', 'nft_sync']),
    commits: () => Number(git(repo, ['rev-list', '--count', 'main'])),
    agents: () => {
      const body = JSON.parse(server.exec(['curl', '-sf', '--max-time', '2', `http://127.0.0.1:${HTTP_PORT}/api/v1/agents`])) as { agents?: unknown } | unknown[];
      return (Array.isArray(body) ? body : (body as { agents: unknown[] }).agents) as ReturnType<Cluster['agents']>;
    },
  };
}

/** Both hosts list the same managed table, and the branch stops moving: returns its commit count. */
async function converged(c: Cluster, ms: number): Promise<number> {
  await until('A and B to list the same table', () => (c.table(c.a) === c.table(c.b) ? true : undefined), ms, 100);
  const count = c.commits();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(c.commits(), count, 'no commit is made once the hosts agree (nothing loops)');
  assert.equal(c.table(c.a), c.table(c.b));
  return count;
}

test('a rule added by hand on A is on B (within 10 s; the 2 s goal is bench/publish-latency.ts\'s), committed by node-a; nothing loops (three namespaces, veth)', async (t) => {
  const c = await cluster(t);
  const before = c.commits();
  const t0 = performance.now();
  c.a.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '8080', 'accept']);
  await until('the rule on B', () => (/tcp dport 8080 accept/.test(c.table(c.b)) ? true : undefined), 15_000);
  const ms = Math.round(performance.now() - t0);
  t.diagnostic(`rule added on A in force on B after ${ms} ms (goal, in bench/publish-latency.ts: within 2 s)`);
  // Loose: it shows the change travels A -> server -> B on its own; its speed is the bench's.
  assert.ok(ms < 10_000, `on B after ${ms} ms`);
  assert.match(c.table(c.a), /tcp dport 8080 accept/, 'published, not healed away on A');
  assert.equal(git(c.repo, ['log', '-1', '--format=%an', 'main']), 'node-a');
  assert.match(git(c.repo, ['log', '-1', '--format=%B', 'main']), /Published-by: node-a \(token of ops\)/);
  const after = await converged(c, 10_000);
  assert.equal(after, before + 1, 'one change, one commit');
  const b = c.agents().find((x) => x.name === 'node-b');
  assert.equal(b?.status?.commit, git(c.repo, ['rev-parse', 'main']));
  await c.stop();
});

test('concurrent changes on A and B to different objects both survive; to the same chain, a PublishConflict is reported and the hosts converge', async (t) => {
  const c = await cluster(t);
  // Different objects at the same moment: an element on A, a rule in another chain on B.
  c.a.nft(['add', 'element', 'inet', 'nft_sync', 'blk', '{ 198.18.9.1 }']);
  c.b.nft(['add', 'rule', 'inet', 'nft_sync', 'output', 'tcp', 'dport', '9090', 'accept']);
  const both = (ns: Netns) => {
    const s = c.table(ns);
    return /198\.18\.9\.1/.test(s) && /tcp dport 9090 accept/.test(s) ? true : undefined;
  };
  await until('both changes on A and B', () => (both(c.a) && both(c.b) ? true : undefined), 10_000, 50);
  await converged(c, 10_000);
  const file = git(c.repo, ['show', 'main:rulesets/default.json']);
  assert.match(file, /198\.18\.9\.1/);
  assert.match(file, /"right": 9090/);

  // The same chain at the same moment: both append to input, an order nobody chose.
  const fromA = c.agentA.stdout().length;
  const fromB = c.agentB.stdout().length;
  c.a.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '7001', 'accept']);
  c.b.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '7002', 'accept']);
  await Promise.race([c.agentA.waitFor(/PublishConflict/, 10_000, fromA), c.agentB.waitFor(/PublishConflict/, 10_000, fromB)]);
  const loser = /PublishConflict/.test(c.agentA.stdout().slice(fromA)) ? 'node-a' : 'node-b';
  const line = (loser === 'node-a' ? c.agentA : c.agentB).stdout().split('\n').find((l) => /PublishConflict/.test(l) && l.includes('NFTSYNC_ERR_PUBLISH_CONFLICT'));
  assert.ok(line, 'the log line names the conflict and its code');
  assert.match(line!, /chain inet nft_sync input/);
  const condition = await until(
    'the PublishConflict condition in the status',
    () => c.agents().find((x) => x.name === loser)?.status?.conditions.find((k) => /Conflict/.test(k.reason)),
    10_000,
    100,
  );
  assert.equal(condition.type, 'Published');
  assert.match(condition.message ?? '', /NFTSYNC_ERR_PUBLISH_CONFLICT/);
  await converged(c, 10_000);
  const winner = loser === 'node-a' ? '7002' : '7001';
  assert.match(c.table(c.a), new RegExp(`tcp dport ${winner} accept`), 'the published change is on both hosts');
  assert.doesNotMatch(c.table(c.b), new RegExp(`tcp dport ${loser === 'node-a' ? '7001' : '7002'} accept`), 'the conflicting change gave way to the branch');
  await c.stop();
});

test('a branch move during the quiet period does not wipe the live change: it is merged onto the new tip, both reach A and B', async (t) => {
  const c = await cluster(t, '1');
  const doc = JSON.parse(readFileSync(join(c.clone, 'rulesets/default.json'), 'utf8')) as { nftables: unknown[] };
  doc.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'forward', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 6000 } }, { accept: null }] } });
  writeFileSync(join(c.clone, 'rulesets/default.json'), `${JSON.stringify(doc, null, 2)}\n`);
  git(c.clone, ['commit', '-qam', 'forward 6000 (pushed)']);
  // The hand change on A, then at once the branch moves to another change (fetched straight into
  // the bare repository, as an accepted push leaves it, without the hook's start-up time): it
  // lands within A's 1 s quiet period.
  c.a.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '8081', 'accept']);
  git(c.repo, ['fetch', '-q', c.clone, '+main:refs/heads/main']);
  const both = (ns: Netns) => {
    const s = c.table(ns);
    return /tcp dport 8081 accept/.test(s) && /tcp dport 6000 accept/.test(s) ? true : undefined;
  };
  await until('the push and the live change on A and B', () => (both(c.a) && both(c.b) ? true : undefined), 10_000, 50);
  await converged(c, 10_000);
  assert.equal(git(c.repo, ['log', '-1', '--format=%an', 'main']), 'node-a');
  assert.match(git(c.repo, ['log', '-1', '--format=%B', 'main']), /merged onto/, 'the branch moved first and the live change was merged onto it');
  await c.stop();
});
