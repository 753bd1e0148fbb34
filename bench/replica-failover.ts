/**
 * Replicas (issue 11 point 2), two rows from one run:
 *
 *  - failover time: a real agent (nft in a namespace) following `--server A,B`, two servers on
 *    one repository; A is closed and the clock runs until B holds the agent's report of the
 *    commit in force (no re-apply). Baseline: a fresh connection to B, hello and one report (the
 *    floor of any reconnect). Goal: under 5 s.
 *  - replica lag: `git push` over HTTP to the primary until a replica (`--mirror-of`, polling
 *    the primary's refs every 250 ms) resolves main to the pushed commit. Baseline: the same
 *    until the primary itself resolves it. Goal: under 1 s.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { runAgentDaemon } from '../agent/agent-daemon.js';
import type { ReconcileOutcome } from '../agent/reconcile/reconciler.js';
import { WireClient } from '../agent/wire/wire-client.js';
import { createNftRunner } from '../host/nft-runner.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer, type RunningServer } from '../server/start-server.js';
import { median, type BenchRow } from './bench-row.js';

const run = promisify(execFile);
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.org', GIT_TERMINAL_PROMPT: '0' };

/** Resolve once `f` holds, checking every 5 ms; throws after `ms`. */
async function until(f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > deadline) throw new Error(`bench: condition not reached in time: ${f.toString().slice(0, 120)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Failover time, `runs` times, against a fresh hello+report to the second server. */
export async function benchFailover(runs: number, netns: (label: string) => string, logger: Logger, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-fover-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const repo = join(dir, 'rules.git');
  await initRepository(repo, 'repo-template');
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ns = netns(`fover${i}`);
    const a = await startServer({ repo, listen: LOOPBACK, logger, installHook: false });
    const b = await startServer({ repo, listen: LOOPBACK, logger, installHook: false });
    const ac = new AbortController();
    let applied = 0;
    let last: ReconcileOutcome | undefined;
    const done = runAgentDaemon(
      {
        host: '127.0.0.1', port: a.wireAddress.port, servers: [{ host: '127.0.0.1', port: a.wireAddress.port }, { host: '127.0.0.1', port: b.wireAddress.port }],
        agent: `fover-${i}`, ref: 'main', nft: createNftRunner(`nsenter --net=/run/netns/${ns} nft`), stateDir: join(dir, `state-${i}`), logger, watchDrift: false, confirmWindowMs: 0,
        onOutcome: (o) => { last = o; if (o.kind === 'applied') applied += 1; },
      },
      ac.signal,
    );
    try {
      await until(() => last !== undefined && a.wire.registry.get(`fover-${i}`)?.status?.commit === last.commit);
      const commit = last?.commit;
      const t0 = performance.now();
      await a.close();
      await until(() => b.wire.registry.get(`fover-${i}`)?.status?.commit === commit);
      ours.push(performance.now() - t0);
      if (applied !== 1) throw new Error(`bench: the agent applied ${applied} times (last: ${JSON.stringify(last)})`);
      const t1 = performance.now();
      const c = await WireClient.connect({ host: '127.0.0.1', port: b.wireAddress.port, agent: `floor-${i}` });
      await c.report({ agent: `floor-${i}`, ref: 'main', ...(commit && { commit }), state: 'Applied', conditions: [] });
      c.close();
      base.push(performance.now() - t1);
    } finally {
      ac.abort();
      await done;
      await Promise.all([a.close(), b.close()]);
    }
  }
  const m = median(ours);
  return { figure: 'failover time when a server is killed, no re-apply (ms)', ours: m, baseline: median(base), goal: '< 5000', ok: m < 5000 };
}

/** Replica lag after a push over HTTP, `runs` times, against the primary's own. */
export async function benchReplicaLag(runs: number, logger: Logger, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-lag-'));
  const servers: RunningServer[] = [];
  cleanups.push(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = join(dir, 'rules.git');
  await initRepository(repo, 'repo-template');
  const primary = await startServer({ repo, listen: LOOPBACK, http: LOOPBACK, logger, installHook: false });
  servers.push(primary);
  const url = `http://127.0.0.1:${primary.httpAddress!.port}/git/rules.git`;
  const replica = await startServer({ repo: join(dir, 'mirror.git'), mirrorOf: { url }, listen: LOOPBACK, logger, installHook: false });
  servers.push(replica);
  const clone = join(dir, 'clone');
  // Never a synchronous git against the server in this very process: its event loop must answer.
  await run('git', ['clone', '-q', url, clone], { env: GIT_ENV });
  const text = readFileSync(join(clone, 'rulesets/default.json'), 'utf8');
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    writeFileSync(join(clone, 'rulesets/default.json'), text.replace(/"right": 22\b/, `"right": ${3000 + i}`));
    await run('git', ['commit', '-qam', `lag ${i}`], { cwd: clone, env: GIT_ENV });
    const id = (await run('git', ['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim();
    const t0 = performance.now();
    const pushed = run('git', ['push', '-q', url, 'HEAD:main'], { cwd: clone, env: GIT_ENV });
    let onPrimary: number | undefined;
    await until(async () => {
      if (onPrimary === undefined && (await primary.repository.resolveRef('main')) === id) onPrimary = performance.now() - t0;
      return (await replica.repository.resolveRef('main')) === id;
    });
    ours.push(performance.now() - t0);
    base.push(onPrimary ?? performance.now() - t0);
    await pushed;
  }
  const m = median(ours);
  return { figure: 'replica lag after git push, replica holds it (ms)', ours: m, baseline: median(base), goal: '< 1000', ok: m < 1000 };
}
