/**
 * Bench rows for issue 10's end-to-end figure: one API call adding 1,000 elements to a
 * 1,000,000-element ipv4_addr set, until those elements are in force on an agent, against raw
 * `nft` of the same 1,000 elements. The server runs in this process (no hook: the element API's
 * own checks); the agent is the compiled CLI in a process of its own, as on a host (`nft-sync
 * agent`, confirm window 0), its nft in a namespace. The revisions are written by the server one
 * element a line, so the agent gets a delta and plans from its hint. Both sides are timed until
 * the kernel of their namespace announces the commit (bench/commit-clock.ts: the NEWGEN event
 * `nft monitor` prints, read without nft's cache: `nft monitor` itself, on a host holding the
 * set, costs 17 s of CPU and 650 MB before it follows anything). The agent's `applied` log line,
 * which comes after the read-back and the state are recorded, is reported on a row of its own.
 *
 *  - API call to in force (ms), against raw `nft -j -f` of an add-element batch of the same
 *    1,000 addresses in a second namespace holding the same set, from its start (raw nft is
 *    started from a small shell: the same 10 ms an operator's shell sees). Changes a second
 *    apart. Goal: within 1.5x + 50 ms;
 *  - the same with changes back to back, report only;
 *  - API call to the agent's `applied` log line (the revision recorded), report only;
 *  - the API's answer alone (the commit on the branch), report only;
 *  - the first change after the server's start, report only: the server read and rendered the
 *    set when it started (server/git/element-tips.ts warm) and the agent found the layout of its
 *    revision while idle (agent/reconcile/delta-hint.ts knowLayout), but this change is the
 *    first of each side's code paths; the timed runs are the ones after it, as a blocklist fed
 *    through the API every few seconds or minutes sees them.
 * Bounded: 2 x `runs` + 1 calls after one initial load of the set in each namespace.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { renderRuleset } from '../shared/ruleset/render-ruleset.js';
import { address, revision } from './big-set-delta.js';
import { median, type BenchRow } from './bench-row.js';
import { killOnExit, stopChild } from './stop-child.js';
import { commitClock } from './commit-clock.js';
import { onTimedLines } from './timed-lines.js';
import { cpuTimes, stolenShare } from './cpu-steal.js';

const ELEMENTS = 1_000_000;
const CHANGE = 1000;
/** Between two timed changes: a blocklist fed once a second (see the runs below). */
const SPACING_MS = 1000;

/** A file holding raw nft's batch adding `add` to the set. */
async function rawBatch(dir: string, i: number, add: string[]): Promise<string> {
  const file = join(dir, `raw-${i}.json`);
  writeFileSync(file, JSON.stringify({ nftables: [{ add: { element: { family: 'inet', table: 'nft_sync', name: 'blk', elem: add } } }] }));
  return file;
}

export async function benchSetChangeToApplied(runs: number, netns: (label: string) => string, logger: Logger, cleanups: Array<() => unknown>): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  const git = (args: string[], cwd: string): string => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  const clone = join(dir, 'clone');
  git(['clone', '-q', bare, clone], dir);
  // The million elements are written to files at once and not kept: the server under test shares
  // this process's heap, and a production server would not hold the bench's copy of the set.
  const firstFile = join(dir, 'first.json');
  {
    const first = revision(Array.from({ length: ELEMENTS }, (_, i) => address(i)));
    writeFileSync(join(clone, 'rulesets/default.json'), renderRuleset(first));
    writeFileSync(firstFile, JSON.stringify(buildApplyTransaction(first, [])));
  }
  git(['commit', '-qam', '1,000,000 addresses'], clone);
  git(['push', '-q', 'origin', 'main'], clone);

  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, logger, installHook: false });
  cleanups.push(() => server.close());
  const ns = netns('e2eagent');
  const rawNs = netns('e2eraw');
  // The agent in a process of its own (the compiled CLI), as on a host: in force once its log
  // line says the transaction committed, read as it is written.
  if (!process.env.NFT_SYNC_BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'ignore' });
  const applied = new Map<string, { at: number; kind: string }>();
  let wake: (() => void) | undefined;
  const agent = spawn(process.execPath, ['dist/cli/main.js', 'agent', '--server', `127.0.0.1:${server.wireAddress.port}`, '--ref', 'main', '--name', 'bench', '--nft', `nsenter --net=/run/netns/${ns} nft`, '--state-dir', join(dir, 'state'), '--confirm-window', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Stopped for sure, before the namespaces go (cleanups run last first): SIGTERM, SIGKILL after
  // 10 s (an agent stuck in nft must not hang the cleanup); and killed if this process dies of an
  // exception that skips bench/run.ts's finally.
  const unhook = killOnExit(agent);
  cleanups.push(async () => {
    await stopChild(agent);
    unhook();
  });
  let gone: string | undefined;
  agent.once('error', (err) => {
    gone = `could not run: ${err.message}`;
    wake?.();
  });
  agent.once('exit', (code, signal) => {
    gone ??= `exited (${code ?? signal})`;
    wake?.();
  });
  onTimedLines(agent.stdout!, (line, at) => {
    if (!line.includes('"msg":"applied"')) return;
    let o: { commit: string; transaction?: { kind: string; hinted?: boolean; early?: boolean } };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      return; // thrown here it would end this process past every cleanup
    }
    applied.set(o.commit, { at, kind: `${o.transaction?.kind ?? '?'}${o.transaction?.hinted ? ' (hinted)' : ''}${o.transaction?.early ? ' (early)' : ''}` });
    wake?.();
  });
  const inForce = async (commit: string): Promise<{ at: number; kind: string }> => {
    for (const end = performance.now() + 600_000; performance.now() < end; ) {
      const o = applied.get(commit);
      if (o) return o;
      if (gone !== undefined) throw new Error(`bench: the agent ${gone} before applying ${commit}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000).unref();
      });
    }
    throw new Error(`bench: the agent did not apply ${commit} within 10 minutes`);
  };
  execFileSync('nsenter', [`--net=/run/netns/${rawNs}`, 'nft', '-j', '-f', firstFile]);
  await inForce(git(['rev-parse', 'main'], clone));
  // Started after the loads: while anyone listens, the kernel builds an event per element.
  const ourClock = await commitClock(ns);
  cleanups.push(() => ourClock.stop());
  const rawClock = await commitClock(rawNs);
  cleanups.push(() => rawClock.stop());
  // Raw nft is started from a small shell of its own, as an operator's would be: not forked from
  // this process, whose heap holds the server's (a fork costs time in proportion to it, and leaves
  // every page of the server's memory copy-on-write, which a server on a host does not see).
  const shell = spawn('bash', ['-c', `while read -r f; do nsenter --net=/run/netns/${rawNs} nft -j -f "$f"; echo "exit $?"; done`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const unhookShell = killOnExit(shell);
  cleanups.push(async () => {
    shell.stdin!.end();
    await stopChild(shell, 2000);
    unhookShell();
  });
  const shellLines = createInterface({ input: shell.stdout! })[Symbol.asyncIterator]();
  const rawNft = async (file: string): Promise<void> => {
    shell.stdin!.write(`${file}\n`);
    const line = await shellLines.next();
    if (line.done || line.value !== 'exit 0') throw new Error(`bench: raw nft -j -f ${file}: ${line.done ? 'the shell exited' : line.value}`);
  };

  const url = `http://127.0.0.1:${server.httpAddress!.port}/api/v1/rulesets/default/sets/inet/nft_sync/blk/elements`;
  const ours: number[] = [];
  const backToBack: number[] = [];
  const recorded: number[] = [];
  const answers: number[] = [];
  const floor: number[] = [];
  const kinds: string[] = [];
  let cold = 0;
  // Run 0: the first change after the start (both sides prepared for it while idle, but it is
  // the first through their code): reported on its own row. Runs 1..runs are the steady state, a change a
  // second (SPACING_MS apart): each finds the server and the agent at rest, their work after the
  // last change done (the agent's: a warm nft, memory for the next rebuild, the line index, the
  // collection of the last revision; the server's: memory for the next text). Runs past that come
  // back to back, as soon as the last is in force: a row of their own.
  const cpuBefore = cpuTimes();
  for (let i = 0; i <= 2 * runs; i++) {
    if (i > 0 && i <= runs) await new Promise((r) => setTimeout(r, SPACING_MS));
    const add = Array.from({ length: CHANGE }, (_, k) => address(ELEMENTS + i * CHANGE + k));
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ add, delete: [] }) });
    answers.push(performance.now() - t0);
    if (res.status !== 201) throw new Error(`bench: the element API answered ${res.status}: ${await res.text()}`);
    const o = await inForce(((await res.json()) as { commit: string }).commit);
    const committed = await ourClock.firstAfter(t0);
    if (i === 0) {
      cold = committed - t0;
      await rawNft(await rawBatch(dir, i, add));
      continue;
    }
    if (i > runs) {
      backToBack.push(committed - t0);
      continue;
    }
    ours.push(committed - t0);
    recorded.push(o.at - t0);
    kinds.push(o.kind);

    const file = await rawBatch(dir, i, add);
    const t1 = performance.now();
    await rawNft(file);
    floor.push((await rawClock.firstAfter(t1)) - t1);
  }
  const stolen = stolenShare(cpuBefore, cpuTimes());
  console.error(`set-change-to-applied: agent transactions ${kinds.join(', ')}; API answers ${answers.map((a) => a.toFixed(0)).join(', ')} ms; in force ${ours.map((a) => a.toFixed(0)).join(', ')} ms (back to back: ${backToBack.map((a) => a.toFixed(0)).join(', ')}); applied (recorded) ${recorded.map((a) => a.toFixed(0)).join(', ')} ms; raw nft ${floor.map((a) => a.toFixed(0)).join(', ')} ms (the first change: ${cold.toFixed(0)} ms); CPU taken by the hypervisor meanwhile (steal): ${stolen === undefined ? 'unknown' : `${(100 * stolen).toFixed(1)}%`}`);
  const o = median(ours);
  const r = median(floor);
  return [
    { figure: `API call adding 1,000 elements to a 1M set until in force on an agent (the kernel's commit event) vs raw nft of the same (ms)`, ours: o, baseline: r, goal: `< 1.5x + 50 = ${(1.5 * r + 50).toFixed(0)}`, ok: o < 1.5 * r + 50 },
    { figure: `the same, changes back to back (each as soon as the last is in force) vs raw nft (ms)`, ours: median(backToBack), baseline: r, goal: 'report only', ok: true },
    { figure: `the same, until the agent's \`applied\` log line (read back and recorded) vs raw nft (ms)`, ours: median(recorded), baseline: r, goal: 'report only', ok: true },
    { figure: `API call adding 1,000 elements to a 1M set: the API's answer (commit on main) vs raw nft (ms)`, ours: median(answers), baseline: r, goal: 'report only', ok: true },
    { figure: `the same, first change after the server's start vs raw nft (ms)`, ours: cold, baseline: r, goal: 'report only', ok: true },
  ];
}
