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
   * daemons (`server`, `agent`), stderr for the others (README, Logging).
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
    waitFor(pattern, timeoutMs = 10_000, from = 0) {
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

/** A free TCP port on loopback (bound then released). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
