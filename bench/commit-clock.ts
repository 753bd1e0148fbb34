/**
 * The bench's clock for "in force": the moment the kernel of a namespace announces a committed
 * nf_tables transaction (bench/nft-commits.py, the NEWGEN event `nft monitor` prints), read as
 * its line reaches this process. The same clock for nft-sync's agent and for raw nft, so both
 * are timed the same way: until the host announces the change, not until a process says so.
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
      else if (line.startsWith('{')) commits.push(at);
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
