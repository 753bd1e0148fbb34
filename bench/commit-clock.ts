/**
 * The bench's clock for "in force": the moment the kernel of a namespace announces a committed
 * nf_tables transaction (bench/nft-commits.py, the NEWGEN event `nft monitor` prints), as the
 * watcher read it from the kernel (its CLOCK_MONOTONIC reading, on this process's
 * performance.now() scale), not as its line reaches this process: the bench runs the server in
 * this process, and a line read late because the server's work held this event loop would be
 * charged to nft-sync, never to raw nft (which runs while the server is idle). The same clock for
 * nft-sync's agent and for raw nft, so both are timed the same way: until the host announces the
 * change, not until a process says so.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit, stopChild } from './stop-child.js';
import { onTimedLines } from './timed-lines.js';

export interface CommitClock {
  /** performance.now() when the first commit at or after `since` was announced; rejects after `timeoutMs`. */
  firstAfter(since: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Start the clock in namespace `ns` (resolves once it listens). */
export async function commitClock(ns: string): Promise<CommitClock> {
  const script = fileURLToPath(new URL('./nft-commits.py', import.meta.url));
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, 'python3', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const unhook = killOnExit(child);
  const commits: number[] = [];
  let wake: (() => void) | undefined;
  let gone: string | undefined;
  let ready: () => void = () => {};
  const listening = new Promise<void>((r) => (ready = r));
  onTimedLines(
    child.stdout!,
    (line, at) => {
      if (line === 'ready') ready();
      else if (line.startsWith('{')) commits.push(announcedAt(line) ?? at);
    },
    () => wake?.(),
  );
  child.once('exit', (code, signal) => {
    gone = `the commit clock in ${ns} exited (${code ?? signal})`;
    ready();
    wake?.();
  });
  await listening;
  if (gone !== undefined) throw new Error(`bench: ${gone}`);
  return {
    async firstAfter(since, timeoutMs = 600_000) {
      for (const end = performance.now() + timeoutMs; performance.now() < end; ) {
        const at = commits.find((t) => t >= since);
        if (at !== undefined) return at;
        if (gone !== undefined) throw new Error(`bench: ${gone}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000).unref();
        });
      }
      throw new Error(`bench: no commit announced in ${ns} within ${timeoutMs} ms`);
    },
    async stop() {
      child.stdin!.end();
      await stopChild(child, 2000);
      unhook();
    },
  };
}

/** performance.now() minus process.hrtime in ms: both read CLOCK_MONOTONIC, so it stays the same. */
const hrtimeToNow = performance.now() - Number(process.hrtime.bigint()) / 1e6;

/** The moment a commit line's watcher read the event (`mono`, CLOCK_MONOTONIC ns) on the performance.now() scale. */
function announcedAt(line: string): number | undefined {
  const mono = (JSON.parse(line) as { mono?: unknown }).mono;
  return typeof mono === 'number' ? mono / 1e6 + hrtimeToNow : undefined;
}
