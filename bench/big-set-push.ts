/**
 * A push of a ruleset holding one big set, through the real pre-receive hook (stock `git push`
 * over a file path, the hook loading the set into its scratch namespace and reading it back),
 * repeated with a new set each time. Every push must be accepted: before the fix, a
 * 1,000,000-element push was refused as NFTSYNC_ERR_RULESET_LOSSY on every run, because the
 * first listing after the load came back with repeated and missing elements.
 * Baseline: a raw `nft -j -f` of the same ruleset into an empty namespace, in the same run.
 *
 * Run alone (root; about 2 GB of free memory for 1,000,000 elements, so not beside other heavy
 * jobs; bounded: it stops at the first refusal and each push has a deadline):
 *   node --import tsx bench/big-set-push.ts [ELEMENTS=1000000] [RUNS=2]
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNftRunner } from '../host/nft-runner.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import type { Ruleset } from '../shared/ruleset/ruleset-types.js';
import { initRepository } from '../server/git/init-repository.js';
import { preReceiveHookScript } from '../server/push/pre-receive-hook.js';
import { bigSetRuleset } from '../tests/helpers/big-set.js';
import { type BenchRow, median } from './bench-row.js';

const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@example.invalid' };

function push(cwd: string, deadlineMs: number): Promise<{ ok: boolean; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) =>
    execFile('git', ['push', 'origin', 'HEAD:main'], { cwd, env: GIT_ENV, encoding: 'utf8', timeout: deadlineMs, maxBuffer: 1 << 26 }, (err, _o, stderr) =>
      resolve({ ok: err === null, stderr, ms: performance.now() - t0 }),
    ),
  );
}

/**
 * `runs` pushes of an `elements`-element set. Throws (naming the hook's output) at the first
 * refused push; every temporary directory and namespace is removed on every path.
 */
export async function benchBigSetPush(elements: number, runs: number): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-bigpush-'));
  const ns = `nsb-bigpush-${process.pid}`;
  try {
    const bare = join(dir, 'rules.git');
    await initRepository(bare, 'repo-template', { hooks: { 'pre-receive': preReceiveHookScript() } });
    execFileSync('git', ['clone', '-q', bare, join(dir, 'c')], { env: GIT_ENV });
    const clone = join(dir, 'c');
    const ours: number[] = [];
    const raw: number[] = [];
    execFileSync('ip', ['netns', 'add', ns]);
    const nft = createNftRunner(`ip netns exec ${ns} nft`);
    for (let i = 0; i < runs; i++) {
      const ruleset = bigSetRuleset(elements, 1000 + i);
      writeFileSync(join(clone, 'rulesets/default.json'), JSON.stringify(ruleset));
      execFileSync('git', ['commit', '-qam', `big set ${i}`], { cwd: clone, env: GIT_ENV });
      const r = await push(clone, 10 * 60_000);
      if (!r.ok) throw new Error(`push ${i + 1} of ${runs} (${elements} elements) was refused:\n${r.stderr.slice(0, 4000)}`);
      ours.push(r.ms);
      const batch = JSON.stringify(buildApplyTransaction(ruleset as Ruleset, []));
      const t0 = performance.now();
      await nft.applyJson(batch);
      raw.push(performance.now() - t0);
      execFileSync('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset']);
      const hook = /ruleset\(s\) valid.*\((\d+) ms\)/.exec(r.stderr)?.[1] ?? '?';
      process.stderr.write(`big-set push ${i + 1}/${runs}: accepted in ${Math.round(r.ms)} ms, the hook's checks ${hook} ms (raw nft load ${Math.round(raw[raw.length - 1]!)} ms)\n`);
    }
    const m = median(ours);
    return { figure: `push of a ${elements.toLocaleString('en')}-element set through the hook, ${runs} accepted of ${runs} (ms)`, ours: m, baseline: median(raw), goal: 'all accepted', ok: true };
  } finally {
    try {
      execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    } catch {
      // not created
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const elements = Number(process.argv[2] ?? 1_000_000);
  const runs = Number(process.argv[3] ?? 2);
  const row = await benchBigSetPush(elements, runs);
  console.log(`${row.figure}: ours ${Math.round(row.ours)}, baseline (raw nft load) ${Math.round(row.baseline)}`);
}
