/**
 * A set change through the API reaches three agents: three hosts (network namespaces on a
 * bridge, addresses from 198.18.0.0/15), each running the real `nft-sync agent` process with its
 * own nft, follow main on a real server; one POST to the element API adds and deletes elements of
 * their blocklist, and every host's kernel set holds the result.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseTokenList } from '../../shared/config/token-list.js';
import { renderRuleset } from '../../shared/ruleset/render-ruleset.js';
import { startCli } from '../helpers/cli-process.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { startServerFixture } from '../helpers/server-fixture.js';

const TOKEN = 'agents-token-0123456789abcdef';
const RULESET = {
  nftables: [
    { table: { family: 'inet', name: 'edge' } },
    { set: { family: 'inet', table: 'edge', name: 'blocklist', type: 'ipv4_addr', elem: ['198.19.255.1', '198.19.255.2'] } },
    // Enough bytes that the change is an element change file (rulesets/default.elements/), not a fold.
    { set: { family: 'inet', table: 'edge', name: 'known', type: 'ipv4_addr', elem: Array.from({ length: 300 }, (_, i) => `198.19.${250 + (i >> 8)}.${i & 255}`) } },
    { chain: { family: 'inet', table: 'edge', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { rule: { family: 'inet', table: 'edge', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blocklist' } }, { drop: null }] } },
  ],
};

function ipLinkDelete(name: string): void {
  try {
    execFileSync('ip', ['link', 'delete', name], { stdio: 'ignore' });
  } catch {
    // gone already (a veth goes with its namespace)
  }
}

/**
 * The addresses in the host's kernel set now. Asynchronous: the server runs in this process, and
 * a synchronous nft every 25 ms for three hosts held its event loop for most of each second under
 * the suite's load (the agents were told of the change 4-10 s late).
 */
async function kernelSet(ns: Netns): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'set', 'inet', 'edge', 'blocklist'], { encoding: 'utf8' });
    const listed = JSON.parse(stdout) as { nftables: Array<{ set?: { elem?: string[] } }> };
    return [...(listed.nftables.find((i) => i.set)?.set?.elem ?? [])].sort();
  } catch {
    return [];
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

test('a set change through the API reaches three agents on a bridge', async (t) => {
  const tag = randomBytes(2).toString('hex');
  const subnet = `198.18.${100 + randomInt(150)}`;
  const bridge = `brel${tag}`;
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  t.after(() => ipLinkDelete(bridge));
  execFileSync('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const hosts = [1, 2, 3].map((n) => {
    const ns = createNetns(t, `el${n}`);
    const veth = `vel${tag}${n}`;
    execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    t.after(() => ipLinkDelete(veth));
    execFileSync('ip', ['link', 'set', veth, 'master', bridge, 'up']);
    ns.exec(['ip', 'addr', 'add', `${subnet}.${10 + n}/24`, 'dev', 'eth0']);
    ns.exec(['ip', 'link', 'set', 'eth0', 'up']);
    return ns;
  });

  const f = await startServerFixture(t, {
    listen: { host: `${subnet}.1`, port: 0 }, insecurePlaintext: true,
    http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} ops\n`),
  });
  f.push({ 'rulesets/default.json': renderRuleset(RULESET) }, 'edge blocklist');
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-e2e-agents-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const agents = hosts.map((ns, i) =>
    startCli(t, ['agent', '--server', `${subnet}.1:${f.port}`, '--ref', 'main', '--name', `edge-${i + 1}`, '--nft', 'nft', '--state-dir', join(dir, `state-${i + 1}`)], { prefix: ['ip', 'netns', 'exec', ns.name] }),
  );
  // What each agent logged, should a host not get there (a daemon logs to stdout).
  let passed = false;
  t.after(() => {
    if (!passed) agents.forEach((a, i) => t.diagnostic(`agent edge-${i + 1}:\n${a.stdout().slice(-6000)}\n${a.stderr().slice(-2000)}`));
  });
  for (const ns of hosts) await until(`${ns.name} applies the first revision`, async () => (await kernelSet(ns)).length === 2, 30_000);

  const res = await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/rulesets/default/sets/inet/edge/blocklist/elements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ add: ['198.19.255.7', '198.19.255.8'], delete: ['198.19.255.1'] }),
  });
  const answer = (await res.json()) as { commit: string; added: number; deleted: number };
  assert.equal(res.status, 201, JSON.stringify(answer));
  assert.deepEqual([answer.added, answer.deleted], [2, 1]);
  assert.equal(f.git(['ls-tree', '--name-only', answer.commit, 'rulesets/default.elements/'], f.bare), 'rulesets/default.elements/000001.json', 'the agents get a ruleset composed of a base and a change file');
  const want = ['198.19.255.2', '198.19.255.7', '198.19.255.8'];
  const ms = await Promise.all(hosts.map((ns) => until(`${ns.name} has the change`, async () => JSON.stringify(await kernelSet(ns)) === JSON.stringify(want), 10_000)));
  t.diagnostic(`in force on the three hosts ${ms.join(', ')} ms after the API answered`);
  // The agents report the new commit as applied.
  await until('three agents report the commit', () => f.server.wire.registry.list().filter((a) => a.status?.commit === answer.commit).length === 3, 5000);
  passed = true;
});
