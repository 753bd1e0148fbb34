/**
 * API latency over a real socket (loopback, keep-alive), medians over N requests, each next to a
 * baseline measured in the same run:
 *  - a ruleset read (GET /api/v1/rulesets/NAME) against a raw isomorphic-git readBlob of it;
 *  - a diff (GET /api/v1/diff) against normalise + diff of the two already-parsed rulesets in
 *    process (so the figure shows what HTTP, resolving and reading cost on top of the diff);
 *  - a ruleset's revisions (git log -- PATH, what the API uses) against isomorphic-git's
 *    log({filepath}) in process: the measurement behind choosing git log.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { pino } from 'pino';
import { diffRulesets } from '../shared/ruleset/ruleset-diff.js';
import { parseRuleset } from '../shared/ruleset/ruleset-schema.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import { type BenchRow, timeIt } from './bench-row.js';

/** A ruleset of `rules` rules and a set of `elements` addresses, `shift` changing both a little. */
function ruleset(rules: number, elements: number, shift: number): string {
  const items: unknown[] = [
    { table: { family: 'inet', name: 'api' } },
    { chain: { family: 'inet', table: 'api', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { set: { family: 'inet', table: 'api', name: 'blk', type: 'ipv4_addr', elem: Array.from({ length: elements }, (_, i) => `198.18.${(i + shift) >> 8 & 255}.${(i + shift) & 255}`) } },
  ];
  for (let i = 0; i < rules; i++) {
    items.push({ rule: { family: 'inet', table: 'api', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 1000 + i + (i % 50 === 0 ? shift : 0) } }, { accept: null }] } });
  }
  return JSON.stringify({ nftables: items }, null, 1);
}

/** Run the API benches; returns their rows. Everything started is stopped before returning. */
export async function benchApiLatency(runs: number): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-api-'));
  const bare = join(dir, 'rules.git');
  const clone = join(dir, 'clone');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  const sh = (args: string[], cwd: string) => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  await initRepository(bare, 'repo-template');
  sh(['clone', '-q', bare, clone], dir);
  const commits: string[] = [];
  for (let i = 0; i < 100; i++) {
    // 100 commits, of which every 10th changes the benchmarked ruleset (the rest touch another).
    if (i % 10 === 0) writeFileSync(join(clone, 'rulesets/default.json'), ruleset(500, 2000, i));
    else writeFileSync(join(clone, 'README.md'), `change ${i}\n`);
    sh(['add', '-A'], clone);
    sh(['commit', '-qm', `c${i}`], clone);
    commits.push(sh(['rev-parse', 'HEAD'], clone));
  }
  sh(['push', '-q', 'origin', 'HEAD:main'], clone);
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
  try {
    const base = `http://127.0.0.1:${server.httpAddress!.port}`;
    const get = async (path: string) => {
      const res = await fetch(base + path);
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.arrayBuffer();
    };
    const [from, to] = [commits[80]!, commits[90]!];
    const { blob } = await server.repository.readRuleset(await server.repository.resolveRef('main'), 'default');
    const cache = {};
    await get('/api/v1/rulesets/default?ref=main');
    const read = await timeIt(runs, () => get('/api/v1/rulesets/default?ref=main'));
    const readRaw = await timeIt(runs, () => get('/api/v1/rulesets/default?ref=main&raw=1'));
    const readBlob = await timeIt(runs, () => git.readBlob({ fs, gitdir: bare, oid: blob, cache }));
    const a = parseRuleset((await server.repository.readRuleset(from, 'default')).bytes);
    const b = parseRuleset((await server.repository.readRuleset(to, 'default')).bytes);
    await get(`/api/v1/diff?from=${from}&to=${to}`);
    const diff = await timeIt(runs, () => get(`/api/v1/diff?from=${from}&to=${to}`));
    const diffInProcess = await timeIt(runs, () => diffRulesets(a, b));
    const revRuns = Math.max(5, Math.floor(runs / 5));
    const revisions = await timeIt(revRuns, () => get('/api/v1/rulesets/default/revisions?ref=main&limit=50'));
    const isoLog = await timeIt(revRuns, () => git.log({ fs, gitdir: bare, ref: 'main', filepath: 'rulesets/default.json', depth: 50, cache }));
    return [
      { figure: 'API ruleset read, 500 rules + 2000 elements (ms)', ours: read, baseline: readBlob, goal: '< 20', ok: read < 20 },
      { figure: 'API ruleset read ?raw=1 (ms)', ours: readRaw, baseline: readBlob, goal: '< 10', ok: readRaw < 10 },
      { figure: 'API diff of two revisions (ms)', ours: diff, baseline: diffInProcess, goal: '< 1.5x + 5', ok: diff < diffInProcess * 1.5 + 5 },
      { figure: 'API revisions, git log, 100 commits (ms)', ours: revisions, baseline: isoLog, goal: 'below isomorphic-git log', ok: revisions < isoLog },
    ];
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
