/**
 * Staged rollouts: the time a rollout spends beyond its configured hold times. A real server on
 * loopback and N simulated agents (real protocol clients, no nft: each reports Applied as soon as
 * it hears `moved`, as a fast agent would). nft-sync.yaml declares three waves (canaries, 50%,
 * 100%) with a 1 s hold; the figure is the rollout's `beyondHoldMs` from the API (start to
 * completion minus 3 x 1 s): what telling each wave, its reports and the server's checks cost.
 * Baseline, same run and agents: a push with no rollout, from the end of `git push` until every
 * agent has reported the new revision (the fan-out a rollout repeats once per wave).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WireClient } from '../agent/wire/wire-client.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import type { BenchRow } from './bench-row.js';

const CONFIG = 'rollouts:\n  main:\n    hold: 1\n    waves:\n      - agents: ["canary-*"]\n      - percent: 50\n      - percent: 100\n';

/** Run the rollout bench with `agents` simulated agents (5 of them canaries); returns its row. */
export async function benchRolloutOverhead(agents: number): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-rollout-'));
  const bare = join(dir, 'rules.git');
  const clone = join(dir, 'clone');
  await initRepository(bare, 'repo-template');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.org' };
  const git = (args: string[]) => execFileSync('git', args, { cwd: clone, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  execFileSync('git', ['clone', '-q', bare, clone], { env, stdio: 'ignore' });
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }), installHook: false, wire: { maxConnectionsPerAddress: agents + 10 } });
  const clients: WireClient[] = [];
  try {
    const reported = new Map<string, Set<string>>();
    const names = Array.from({ length: agents }, (_, i) => (i < 5 ? `canary-${i}` : `web-${i}`));
    for (const name of names) {
      const c = await WireClient.connect({ host: '127.0.0.1', port: server.wireAddress.port, agent: name });
      clients.push(c);
      const report = (commit: string) =>
        void c.report({ agent: name, ref: 'main', commit, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] }).then(() => {
          if (!reported.has(commit)) reported.set(commit, new Set());
          reported.get(commit)!.add(name);
        });
      c.on('moved', (_ref, commit) => report(commit));
      report((await c.subscribe('main'))!);
    }
    const change = (port: number, extra: Record<string, string> = {}) => {
      const file = join(clone, 'rulesets/default.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/"right": \d+/, `"right": ${port}`));
      for (const [p, text] of Object.entries(extra)) writeFileSync(join(clone, p), text);
      git(['add', '-A']);
      git(['commit', '-qm', `port ${port}`]);
      git(['push', '-q', 'origin', 'HEAD:main']);
      return git(['rev-parse', 'HEAD']);
    };
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 6000 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    // Baseline: no rollout.
    const t0 = performance.now();
    const plain = change(2300);
    await until(() => (reported.get(plain)?.size ?? 0) === agents);
    const baseline = performance.now() - t0;
    // The push that declares the rollout is itself rolled out, wave by wave.
    const staged = change(2301, { 'nft-sync.yaml': CONFIG });
    await until(() => server.rollouts.list().some((r) => r.target.commit === staged && r.phase === 'complete'));
    const view = server.rollouts.get('main');
    return {
      figure: `rollout time beyond its hold times, ${agents} agents, 3 waves of 1 s hold (ms)`,
      ours: view.phase === 'complete' ? view.beyondHoldMs : NaN,
      baseline,
      goal: 'report only (baseline: the same agents, one push with no rollout)',
      ok: view.phase === 'complete',
    };
  } finally {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await benchRolloutOverhead(Number(process.argv[2] ?? 200));
  console.log(JSON.stringify(row));
}
