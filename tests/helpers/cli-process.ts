/**
 * Runs the real `nft-sync` command line in child processes (from the TypeScript sources through
 * tsx, so tests never run a stale dist/). Every process started is killed after the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';

const CLI = ['--import', 'tsx', 'cli/main.ts'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `nft-sync ARGS` to completion. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; node?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.node ?? []), ...CLI, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliDaemon {
  child: ChildProcess;
  /** Everything printed on stdout so far (a daemon's JSON log lines). */
  stdout(): string;
  /** Everything printed on stderr so far (a one-shot command's log lines; a daemon's fatal error). */
  stderr(): string;
  /**
   * Resolve when the command's log, from offset `from`, matches `pattern`: stdout for the
   * daemons (`server`, `agent`), stderr for the others (README, Logging). Reject if the process
   * exits first or after `timeoutMs` (default 30 s: only bounds a hang; a process started through
   * tsx while other test files run beside it can take several seconds to say its first line).
   */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** Send `signal` and resolve with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The commands that log to stdout; every other command logs to stderr. */
const DAEMONS = new Set(['server', 'agent']);

/**
 * Start `nft-sync ARGS` in the background; it is killed after the test if still running.
 * `prefix` runs it through another command that execs it, e.g. `['ip', 'netns', 'exec', NS]`;
 * `node` adds options for node itself (e.g. another `--import`).
 */
export function startCli(t: Pick<TestContext, 'after'>, args: string[], options: { prefix?: string[]; node?: string[] } = {}): CliDaemon {
  const argv = [...(options.prefix ?? []), process.execPath, ...(options.node ?? []), ...CLI, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const log = DAEMONS.has(args[0]!) ? () => out : () => err;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = () => {
          if (pattern.test(log().slice(from))) return resolve();
          if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before ${pattern}: ${out.slice(-2000)}${err.slice(-2000)}`));
          if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${pattern}: ${out.slice(-2000)}${err.slice(-2000)}`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * A free TCP port on loopback (bound then released), for a server started in another process.
 * Drawn at random below the kernel's ephemeral range (32768 and up): a port the kernel hands
 * out for `listen(0)` or an outgoing connection elsewhere (other test files run at the same
 * time) is never taken there, so it cannot be taken between this check and the server's bind.
 */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
