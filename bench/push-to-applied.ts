/**
 * Push to applied: `git push` of a one-rule change to main until the agent that follows main has
 * it in force, measured as users run it: the pre-receive hook installed and validating every
 * push (load and read-back in a scratch namespace). Rows, all from the same run:
 *
 *  - validation on (the default): the hook hands the check to the running server over its local
 *    socket, which loads the change into a scratch namespace it keeps warm. Goal: under 150 ms.
 *  - the old way (report only): the hook nft-sync wrote before the hand-off, which starts the
 *    full Node validator and a new scratch namespace for every push (the cold start).
 *  - validation off (report only): no hook at all.
 *  Baseline of each: a bare `git push` with no hook plus a raw `nft -j -f` of the same change,
 *  i.e. the job with no nft-sync at all.
 *
 * The agent's nft runs in a namespace through `nsenter --net=...`, which costs what a host's own
 * `nft` costs; `ip netns exec` would add a mount namespace and a /sys remount (about 100 ms
 * here) that no real host pays.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { runAgentDaemon } from '../agent/agent-daemon.js';
import { createNftRunner } from '../host/nft-runner.js';
import type { ReconcileOutcome } from '../agent/reconcile/reconciler.js';
import { verifyRevision } from '../agent/reconcile/verify-revision.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { initRepository } from '../server/git/init-repository.js';
import { preReceiveHookScript } from '../server/push/pre-receive-hook.js';
import { startServer } from '../server/start-server.js';
import { median, type BenchRow } from './bench-row.js';

const run = promisify(execFile);

type Mode = 'hand-off' | 'cold start' | 'no hook';

/**
 * Push `runs` one-rule changes and time each until applied, with the server and hook set up as
 * `mode` says. `netns(label)` makes a namespace (removed by the caller's cleanups).
 */
async function measure(mode: Mode, runs: number, netns: (label: string) => string, logger: Logger, cleanups: Array<() => unknown>): Promise<{ pushes: number[]; gitPushes: number[]; checks: number[]; ns: string; dir: string; clone: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  const clone = join(dir, 'clone');
  git(['clone', '-q', bare, clone], dir);
  rmSync(join(bare, 'hooks', 'pre-receive'), { force: true });
  // The old way is the hook that execs the full validator (what nft-sync wrote before the hand-off).
  if (mode === 'cold start') writeFileSync(join(bare, 'hooks', 'pre-receive'), preReceiveHookScript(undefined), { mode: 0o755 });
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger, installHook: mode === 'hand-off' });
  cleanups.push(() => server.close());
  const ns = netns(`push${mode.replace(/\W/g, '')}`);
  const ac = new AbortController();
  let waiter: ((o: ReconcileOutcome) => void) | undefined;
  const daemon = runAgentDaemon(
    {
      host: '127.0.0.1', port: server.wireAddress.port, agent: 'bench', ref: 'main',
      nft: createNftRunner(`nsenter --net=/run/netns/${ns} nft`), stateDir: join(dir, 'state'), logger,
      onOutcome: (o) => o.kind === 'applied' && waiter?.(o),
    },
    ac.signal,
  );
  cleanups.push(async () => {
    ac.abort();
    await daemon;
  });
  const nextApplied = () => new Promise<ReconcileOutcome>((resolve) => (waiter = resolve));
  await nextApplied();
  const original = readFileSync(join(clone, 'rulesets/default.json'), 'utf8');
  const pushes: number[] = [];
  const gitPushes: number[] = [];
  const checks: number[] = [];
  for (let i = 0; i < runs; i++) {
    writeFileSync(join(clone, 'rulesets/default.json'), original.replace(/"right": 22\b/, `"right": ${3000 + i}`));
    git(['commit', '-qam', `port ${3000 + i}`], clone);
    const applied = nextApplied();
    const t0 = performance.now();
    // Not execFileSync: the server runs in this process and must answer the hook meanwhile.
    const { stderr } = await run('git', ['push', '-q', 'origin', 'main'], { cwd: clone, env });
    gitPushes.push(performance.now() - t0);
    // The check's own time, as the hook reports it to the pusher ("... valid, ... (12 ms)").
    const checked = /ruleset\(s\) valid.*\((\d+) ms\)/.exec(stderr)?.[1];
    if (checked !== undefined) checks.push(Number(checked));
    await applied;
    pushes.push(performance.now() - t0);
  }
  return { pushes, gitPushes, checks, ns, dir, clone };
}

/** The 1-minute load average, to read the figures by. */
function loadAverage(): string {
  return loadavg()[0]!.toFixed(1);
}

/** The rows described in the file comment, and a breakdown of each mode's time on stdout. */
export async function benchPushToApplied(runs: number, netns: (label: string) => string, logger: Logger, cleanups: Array<() => unknown>): Promise<BenchRow[]> {
  const plain = await measure('no hook', runs, netns, logger, cleanups);
  // Baseline: what the job costs with no nft-sync at all: a push and a raw nft -j -f.
  const txFile = join(plain.dir, 'tx.json');
  const bytes = readFileSync(join(plain.clone, 'rulesets/default.json'));
  const { ruleset } = verifyRevision(bytes, gitBlobId(bytes), { ruleset: 'default', commit: '' });
  writeFileSync(txFile, JSON.stringify(buildApplyTransaction(ruleset, [{ family: 'inet', name: 'nft_sync' }])));
  const raw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync('nsenter', [`--net=/run/netns/${plain.ns}`, 'nft', '-j', '-f', txFile]);
    raw.push(performance.now() - t0);
  }
  const baseline = median(plain.gitPushes) + median(raw);
  const on = await measure('hand-off', runs, netns, logger, cleanups);
  const cold = await measure('cold start', runs, netns, logger, cleanups);
  const ours = median(on.pushes);
  // Where the time goes (medians, ms): the push itself (git, with the hook and the check it
  // waits for), the check as the validator timed it, and from the push's end to the agent's
  // "applied" (the server noticing the ref, `moved`, the agent's fetch, apply, read-back, confirm).
  const line = (label: string, m: Awaited<ReturnType<typeof measure>>): string => {
    const after = m.pushes.map((p, i) => p - m.gitPushes[i]!);
    const check = m.checks.length > 0 ? `, of which the check ${median(m.checks).toFixed(0)}` : '';
    return `  ${label.padEnd(22)} total ${median(m.pushes).toFixed(0)} = git push ${median(m.gitPushes).toFixed(0)}${check}; then to applied ${median(after).toFixed(0)}`;
  };
  console.log(`push to applied, where the time goes (medians, ms; load ${loadAverage()}):`);
  console.log(`  ${'baseline'.padEnd(22)} git push, no hook ${median(plain.gitPushes).toFixed(0)} + nft -j -f ${median(raw).toFixed(0)}`);
  console.log(line('validation on', on));
  console.log(line('cold-start hook (old)', cold));
  console.log(line('validation off', plain));
  return [
    { figure: 'push to applied, validation on (ms)', ours, baseline, goal: '< 150', ok: ours < 150 },
    { figure: 'push to applied, cold-start hook (old) (ms)', ours: median(cold.pushes), baseline, goal: 'report only', ok: true },
    { figure: 'push to applied, validation off (ms)', ours: median(plain.pushes), baseline, goal: 'report only', ok: true },
  ];
}
