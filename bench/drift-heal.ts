/**
 * Bench row: from a hand-made drift (`nft add rule` in the managed table, timed from the moment
 * that command returns) to the agent having put the revision back (self-heal done), median over
 * `runs`. Baseline: a raw `nft -j -f` of the same revision's transaction, measured in the same run
 * (the floor for any re-apply). Goal: within a second, as the drift feature promises.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { runAgentDaemon } from '../agent/agent-daemon.js';
import type { DriftReport } from '../agent/drift/drift-watcher.js';
import { createNftRunner } from '../host/nft-runner.js';
import { verifyRevision } from '../agent/reconcile/verify-revision.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import { type BenchRow, median } from './bench-row.js';

/**
 * Measure drift-to-heal in namespace `ns` (created and deleted by the caller). Pushes its
 * cleanups onto `cleanups`. Errors: throws if a drift is not healed within 5 s.
 */
export async function benchDriftHeal(runs: number, ns: string, logger: Logger, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-drift-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger });
  cleanups.push(() => server.close());
  const ac = new AbortController();
  let onApplied: (() => void) | undefined;
  let onDrift: ((d: DriftReport) => void) | undefined;
  const daemon = runAgentDaemon(
    {
      host: '127.0.0.1', port: server.wireAddress.port, agent: 'bench', ref: 'main',
      nft: createNftRunner(`ip netns exec ${ns} nft`), stateDir: join(dir, 'state'), logger,
      onOutcome: (o) => o.kind === 'applied' && onApplied?.(),
      onDrift: (d) => onDrift?.(d),
    },
    ac.signal,
  );
  cleanups.push(async () => {
    ac.abort();
    await daemon;
  });
  await new Promise<void>((resolve) => (onApplied = resolve));
  const nft = (args: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
  const heals: number[] = [];
  for (let i = 0; i < runs; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const healed = new Promise<DriftReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('drift not healed within 5 s')), 5000);
      onDrift = (d) => (clearTimeout(timer), resolve(d));
    });
    nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', String(40000 + i), 'accept']);
    const t0 = performance.now();
    const d = await healed;
    heals.push(performance.now() - t0);
    if (!d.healed || nft(['list', 'chain', 'inet', 'nft_sync', 'input']).includes(`dport ${40000 + i}`)) throw new Error('the drift was not healed');
  }
  const bytes = readFileSync('repo-template/rulesets/default.json');
  const { ruleset } = verifyRevision(bytes, gitBlobId(bytes), { ruleset: 'default', commit: '' });
  const txFile = join(dir, 'tx.json');
  writeFileSync(txFile, JSON.stringify(buildApplyTransaction(ruleset, [{ family: 'inet', name: 'nft_sync' }])));
  const raw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', txFile]);
    raw.push(performance.now() - t0);
  }
  const ours = median(heals);
  return { figure: 'hand-made drift to self-healed (ms)', ours, baseline: median(raw), goal: '< 1000', ok: ours < 1000 };
}
