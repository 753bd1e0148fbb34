/**
 * Runs the real `nft` binary: the agent's only way to touch the firewall.
 *
 * The command is given as a string split on spaces (`nft`, or `ip netns exec host1 nft`), and
 * run without a shell, so nothing in it or in the arguments is ever interpreted. Output is
 * collected as bytes and decoded once.
 *
 * Input reaches nft as its stdin (`-f -`). nft 1.0.6 implements `-f -` by opening
 * `/dev/stdin`, which fails with ENXIO when stdin is a socket, and Node's `stdio: 'pipe'` is a
 * socketpair on Linux. So the input is written to a temporary file that is unlinked before nft
 * starts and handed over as its stdin descriptor: nothing lingers on disk, even on a crash
 * after the write, and no shell or extra process is needed.
 *
 * Every run has a time limit (NFT_TIMEOUT_DEFAULTS_MS, by kind of run): a hung nft would
 * otherwise hold the agent's lock for ever. And every nft dies with the agent, even when the
 * agent is killed by SIGKILL: the command is started through util-linux `setpriv --pdeathsig
 * KILL`, which sets the parent-death signal (not reachable from Node) and then execs it; `ip
 * netns exec` execs too, so the PID Node sees is nft's own (the drift watcher relies on that
 * to tell the agent's transactions from anyone else's).
 *
 * With `warmLoads` (the agent daemon), `warm()` starts an `nft -j -f -` ahead of the next load,
 * waiting for its input on a FIFO (host/warm-nft.ts), and the next applyJson hands it the batch
 * instead of starting nft then (the start of a process costs 20-25 ms when the agent holds a big
 * ruleset). Hooks, time limit and errors are as for any run, from the moment of the load; `close()`
 * kills the one waiting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, writeFile, writeSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SHARED_DEFAULTS } from '../shared/defaults.js';
import { NftSyncError, type ErrorCode } from '../shared/errors.js';
import type { Ruleset, TableRef } from '../shared/ruleset/ruleset-types.js';
import { WarmNft } from './warm-nft.js';

export interface NftResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Code of the error thrown when nft exits non-zero (default NFTSYNC_ERR_NFT_EXEC). */
  errorCode?: ErrorCode;
  /** Which time limit applies (default 'other'). */
  kind?: NftRunKind;
}

/** Kinds of nft runs, each with its own time limit. */
export type NftRunKind = 'apply' | 'check' | 'list' | 'other';

/**
 * Default time limit of each kind of nft run, in ms: the one place they are set. A load
 * (`nft -j -f`, and `nft -c`, which costs as much on nft 1.0.6) gets the most: a 1,000,000-element
 * set loads in about 4 s here, but deleting from a big interval set costs (set size x deletions)
 * and was measured at 176-270 s for 1,000 deletes from 100,000 prefixes. A listing of 1,000,000
 * elements takes about 20 s. Anything else (list tables, a small delta) is quick.
 */
export const NFT_TIMEOUT_DEFAULTS_MS: Readonly<Record<NftRunKind, number>> = SHARED_DEFAULTS.nft.timeoutsMs;

/** What the agent learns from each run (drift detection: which transactions are its own). */
export interface NftRunHooks {
  /** Called with the PID of every nft process started (the committing PID of its transaction). */
  spawned?(pid: number): void;
  /**
   * Wraps every load (`-f` without `-c`) of `bytes` input bytes: e.g. to stop watching events
   * while a big load runs. Must call `run` once and settle as it does.
   */
  aroundApply?<T>(bytes: number, run: () => Promise<T>): Promise<T>;
}

export interface NftRunner {
  /** The argv prefix that runs nft, e.g. `['ip','netns','exec','ns1','nft']`. */
  readonly argv: readonly string[];
  /**
   * Run nft with `args`, feeding `input` on stdin. Resolves with its output on exit 0.
   * Errors: NFTSYNC_ERR_NFT_EXEC when it cannot be started; on a non-zero exit,
   * `options.errorCode` (default NFTSYNC_ERR_NFT_EXEC) with nft's first error lines in the
   * message and `data: {exitCode, stderr}`; NFTSYNC_ERR_NFT_TIMEOUT (retryable; nft was killed)
   * after the time limit of `options.kind`.
   */
  run(args: string[], input?: string | Buffer, options?: RunOptions): Promise<NftResult>;
  /** Apply a JSON batch (`nft -j -f -`), atomically. Errors: NFTSYNC_ERR_NFT_APPLY (nothing changed). */
  applyJson(json: object | string | Buffer): Promise<void>;
  /** Dry-run a JSON batch (`nft -c -j -f -`): nft loads it into the kernel and aborts. Errors: NFTSYNC_ERR_NFT_CHECK. */
  checkJson(json: object | string | Buffer): Promise<void>;
  /** The tables on the host (`nft -j list tables`). Errors: NFTSYNC_ERR_NFT_LIST. */
  listTables(): Promise<TableRef[]>;
  /**
   * One table in list form (as `nft -j [-t] list table FAMILY NAME` prints it); `terse` leaves out set
   * elements. Errors: NFTSYNC_ERR_NFT_LIST (also when the table does not exist).
   */
  listTable(family: string, name: string, options?: { terse?: boolean }): Promise<Ruleset>;
  /**
   * A runner on the same command and limits whose runs also call `hooks` (after any hooks
   * this one has). Errors: none.
   */
  withHooks(hooks: NftRunHooks): NftRunner;
  /**
   * Start `nft -j monitor` through the same command, dying with this process; it runs until
   * killed, with no time limit. Errors: none (a failure to start comes as its 'error' event).
   */
  monitor(): NftProcess;
  /**
   * Start `program` (argv) in nft's namespace: behind the words of the command before its final
   * `nft` (e.g. `ip netns exec NS`), dying with this process, with stdin, stdout and stderr as
   * pipes; it runs until killed. Errors: NFTSYNC_ERR_NFT_EXEC when the command's last word is
   * not `nft` (the namespace prefix is then unknown); a failure to start comes as 'error'.
   */
  spawnBeside(program: readonly string[]): NftProcess;
  /**
   * With `warmLoads`: start an `nft -j -f -` now, to wait for the next load (applyJson), unless one
   * waits already (host/warm-nft.ts). Call it when idle: it costs a process start. Its PID counts
   * as the agent's (NftRunHooks.spawned) and its time limit runs only from the load that uses it.
   * Without `warmLoads`, nothing. Resolves once one waits (or could not start). Never rejects (one
   * that cannot start leaves the load to start nft).
   */
  warm(): Promise<void>;
  /** Kill the nft waiting for a load, if any (it changes nothing), and start no more. Never rejects. */
  close(): Promise<void>;
}

/**
 * A long-running process the runner started (`nft monitor`, a listener beside nft): what the
 * agent uses of a ChildProcess, so a test can hand over a fake one.
 */
export interface NftProcess {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  kill(signal?: NodeJS.Signals): boolean;
}

/**
 * Whether `err` is nft refusing a batch (NFTSYNC_ERR_NFT_APPLY, or NFTSYNC_ERR_NFT_CHECK for a
 * dry run): a transaction is atomic, so nothing changed. Any other error (nft could not run, was
 * killed at its time limit) leaves it unknown whether the batch committed.
 */
export function isNftRefusal(err: unknown): err is NftSyncError {
  return err instanceof NftSyncError && (err.code === 'NFTSYNC_ERR_NFT_APPLY' || err.code === 'NFTSYNC_ERR_NFT_CHECK');
}

/**
 * The words of an nft command (split) before its final `nft`: the namespace prefix another
 * program must run behind to see nft's namespace. Errors: NFTSYNC_ERR_NFT_EXEC when the last
 * word is not `nft`.
 */
export function namespacePrefix(nftArgv: readonly string[]): string[] {
  const last = nftArgv[nftArgv.length - 1];
  if (last === undefined || basename(last) !== 'nft') {
    throw new NftSyncError('NFTSYNC_ERR_NFT_EXEC', `the --nft command ${JSON.stringify(nftArgv.join(' '))} does not end in nft, so the namespace to run beside it in is unknown`);
  }
  return nftArgv.slice(0, -1);
}

export interface NftRunnerOptions {
  /** One time limit for every kind of run, in ms (0: none); overrides `timeouts`. */
  timeoutMs?: number;
  /** Time limits by kind of run, in ms (0: none); default NFT_TIMEOUT_DEFAULTS_MS. */
  timeouts?: Partial<Record<NftRunKind, number>>;
  /** Directory for the short-lived (already unlinked) input files; default os.tmpdir(). */
  tmpDir?: string;
  /** Start nft through `setpriv --pdeathsig KILL` when setpriv exists (default true). */
  dieWithParent?: boolean;
  /**
   * Keep an `nft -j -f -` started ahead for the next load, waiting for its input (host/warm-nft.ts):
   * started by `warm()`, used by the next applyJson (default false).
   */
  warmLoads?: boolean;
}

/**
 * The argv prefix that makes a child die with this process: `setpriv --pdeathsig KILL` when
 * util-linux setpriv is installed (it is in Debian's essential set), else nothing (the child
 * then outlives a SIGKILLed agent until it ends by itself or hits its time limit).
 */
export function dieWithParentPrefix(): string[] {
  if (setprivPath === undefined) setprivPath = findOnPath('setpriv') ?? '';
  return setprivPath ? [setprivPath, '--pdeathsig', 'KILL'] : [];
}
let setprivPath: string | undefined;

/** The first executable file named `name` in $PATH (or the usual sbin/bin folders). */
export function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** An open descriptor on an unlinked file holding `input`, positioned at its start. */
async function inputFile(dir: string, input: string | Buffer): Promise<import('node:fs/promises').FileHandle> {
  const path = join(dir, `.nft-sync-input-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fh = await open(path, 'wx+', 0o600);
  try {
    await unlink(path);
    await fh.writeFile(input);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

const STDERR_KEEP = 8192;

/** nft's error lines, without the `internal:0:0-0: ` position prefix JSON input gets. */
function firstErrors(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^internal:\d+:\d+-\d+: /, '').trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('Error'));
  return (errors.length > 0 ? errors : lines).slice(0, 4).join('; ').slice(0, 1000) || '(no message)';
}

function toInput(json: object | string | Buffer): string | Buffer {
  return typeof json === 'string' || Buffer.isBuffer(json) ? json : JSON.stringify(json);
}

function parseJson(stdout: string, what: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', `nft printed output that is not JSON for ${what}`, { cause: err });
  }
}

/**
 * A runner for `command` (split on spaces, e.g. `ip netns exec ns1 nft`). Starts nothing
 * until a method is called. Errors: NFTSYNC_ERR_NFT_EXEC when `command` is empty.
 */
export function createNftRunner(command: string, options: NftRunnerOptions = {}): NftRunner {
  const argv = command.trim().split(/\s+/).filter(Boolean);
  if (argv.length === 0) throw new NftSyncError('NFTSYNC_ERR_NFT_EXEC', 'the nft command is empty: pass e.g. --nft nft');
  const limits: Record<NftRunKind, number> = { ...NFT_TIMEOUT_DEFAULTS_MS, ...options.timeouts };
  if (options.timeoutMs !== undefined) for (const k of Object.keys(limits) as NftRunKind[]) limits[k] = options.timeoutMs;
  const spawnArgv = [...(options.dieWithParent === false ? [] : dieWithParentPrefix()), ...argv];
  const dir = options.tmpDir ?? tmpdir();
  const [file, ...rest] = spawnArgv as [string, ...string[]];
  const warm = options.warmLoads === true ? new WarmNft(file, [...rest, '-j', '-f', '-'], dir) : undefined;
  return makeRunner({ command, argv, spawnArgv, limits, dir, hooks: [], ...(warm && { warm }) });
}

interface RunnerConfig {
  command: string;
  argv: string[];
  /** What is spawned: `argv`, behind the die-with-parent prefix. */
  spawnArgv: string[];
  limits: Record<NftRunKind, number>;
  dir: string;
  hooks: NftRunHooks[];
  /** The nft waiting for the next load (warmLoads), shared by the runners withHooks makes. */
  warm?: WarmNft;
}

/** Inputs up to this size fit an empty FIFO (64 KiB on Linux): written at once, never blocking. */
const FIFO_AT_ONCE_BYTES = 64 * 1024;

/**
 * Write `input` into a waiting nft's FIFO (`fd`), then close it. An input that fits the FIFO is
 * written at once, so nft has it even when the event loop is busy right after (an early element
 * batch runs while the agent makes its plan: agent/reconcile/early-apply.ts); a bigger one is
 * written in the background (nft reads it while it parses). Never throws: a failed write is told
 * by how nft ends.
 */
function writeInput(fd: number, input: Buffer): void {
  if (input.length > FIFO_AT_ONCE_BYTES) {
    writeFile(fd, input, () => closeSync(fd));
    return;
  }
  try {
    let done = 0;
    while (done < input.length) done += writeSync(fd, input, done);
  } catch {
    // nft is gone (EPIPE): how it ended says so.
  }
  closeSync(fd);
}

function makeRunner(cfg: RunnerConfig): NftRunner {
  const { command, argv, spawnArgv, limits, dir, hooks, warm } = cfg;
  const [file, ...prefix] = spawnArgv as [string, ...string[]];

  const run = async (args: string[], input?: string | Buffer, runOptions: RunOptions = {}): Promise<NftResult> => {
    let fh: import('node:fs/promises').FileHandle | undefined;
    try {
      if (input !== undefined) fh = await inputFile(dir, input);
    } catch (err) {
      throw new NftSyncError('NFTSYNC_ERR_NFT_EXEC', `could not stage input for nft in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // The shared offset is at the end after the write; that is fine because nft does not read
      // fd 0 itself but reopens /dev/stdin, which yields a new file description at offset 0.
      return await spawnNft(args, fh?.fd, runOptions);
    } finally {
      await fh?.close();
    }
  };

  const spawnNft = (args: string[], stdinFd: number | undefined, runOptions: RunOptions): Promise<NftResult> =>
    settled(spawn(file, [...prefix, ...args], { stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'] }), args, runOptions);

  /**
   * How `child` (nft with `args`, started now or waiting warm and used now) ends: its output, or
   * the error of run(). Its PID counts as the agent's from now on (NftRunHooks.spawned), and its
   * time limit runs from now.
   */
  const settled = (child: ChildProcess, args: string[], runOptions: RunOptions): Promise<NftResult> =>
    new Promise((resolve, reject) => {
      const kind = runOptions.kind ?? 'other';
      const timeoutMs = limits[kind];
      if (child.pid !== undefined) for (const h of hooks) h.spawned?.(child.pid);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      // Settle at the limit itself, not when the pipes close: a descendant of a wrapper (sudo,
      // a script) may hold them open after nft's own process is killed.
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
              child.stdout!.destroy();
              child.stderr!.destroy();
              reject(
                new NftSyncError(
                  'NFTSYNC_ERR_NFT_TIMEOUT',
                  `nft ${args.join(' ')} did not finish within ${timeoutMs / 1000} s and was killed (${command}); it is retried. If nft is only slow (a huge set), raise --nft-timeout`,
                  { data: { timeoutMs, kind, command } },
                ),
              );
            }, timeoutMs)
          : undefined;
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new NftSyncError('NFTSYNC_ERR_NFT_EXEC', `could not run ${JSON.stringify(command)}: ${e.message}`, { cause: e, data: { command } }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (timedOut) return;
        if (code === 0) {
          resolve({ stdout, stderr });
        } else if ((code === 126 || code === 127) && /^setpriv: /m.test(stderr)) {
          // setpriv started but could not exec the command: as if spawn itself had failed.
          reject(new NftSyncError('NFTSYNC_ERR_NFT_EXEC', `could not run ${JSON.stringify(command)}: ${stderr.trim().slice(0, 500)}`, { data: { command } }));
        } else {
          const errorCode = runOptions.errorCode ?? 'NFTSYNC_ERR_NFT_EXEC';
          const how = signal === null ? `exit ${String(code)}` : `signal ${signal}`;
          reject(
            new NftSyncError(errorCode, `nft ${args.join(' ')} failed (${how}): ${firstErrors(stderr)}`, {
              data: { exitCode: code, signal, stderr: stderr.slice(0, STDERR_KEEP) },
            }),
          );
        }
      });
    });

  /** One load: through the warm nft when one waits (warm-nft.ts), else nft started now. */
  const loadOnce = (input: string | Buffer): Promise<NftResult> => {
    const args = ['-j', '-f', '-'];
    const options: RunOptions = { errorCode: 'NFTSYNC_ERR_NFT_APPLY', kind: 'apply' };
    const w = warm?.take();
    if (w === undefined) return run(args, input, options);
    const done = settled(w.child, args, options);
    // The input, then its end: nft reads it all before it sends anything. A failed write (nft died
    // or was killed at its limit) is told by how the child ended.
    writeInput(w.inputFd, typeof input === 'string' ? Buffer.from(input) : input);
    return done;
  };

  /** A load, through every aroundApply hook (the first one outermost). */
  const load = (input: string | Buffer): Promise<NftResult> => {
    const bytes = Buffer.byteLength(input);
    let next = (): Promise<NftResult> => loadOnce(input);
    for (const h of [...hooks].reverse()) {
      const inner = next;
      if (h.aroundApply) next = () => h.aroundApply!(bytes, inner);
    }
    return next();
  };

  return {
    argv,
    run,
    async applyJson(json) {
      await load(toInput(json));
    },
    async checkJson(json) {
      await run(['-c', '-j', '-f', '-'], toInput(json), { errorCode: 'NFTSYNC_ERR_NFT_CHECK', kind: 'check' });
    },
    async listTables() {
      const { stdout } = await run(['-j', 'list', 'tables'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST', kind: 'list' });
      const doc = parseJson(stdout, 'list tables') as { nftables?: Record<string, unknown>[] };
      const tables: TableRef[] = [];
      for (const item of doc.nftables ?? []) {
        const t = item.table as TableRef | undefined;
        if (t !== undefined) tables.push({ family: t.family, name: t.name });
      }
      return tables;
    },
    async listTable(family, name, listOptions = {}) {
      // A JSON `list` command on stdin rather than `list table F N` on the command line: any
      // name nft allows (keywords, spaces) then works without quoting for nft's text parser.
      const args = ['-j', ...(listOptions.terse === true ? ['-t'] : []), '-f', '-'];
      const input = JSON.stringify({ nftables: [{ list: { table: { family, name } } }] });
      const { stdout } = await run(args, input, { errorCode: 'NFTSYNC_ERR_NFT_LIST', kind: 'list' });
      const doc = parseJson(stdout, `table ${family} ${name}`) as Ruleset;
      if (!Array.isArray(doc.nftables)) throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', `nft listed table ${family} ${name} without an nftables array`);
      return doc;
    },
    withHooks(extra) {
      return makeRunner({ ...cfg, hooks: [...hooks, extra] });
    },
    monitor() {
      return spawn(file, [...prefix, '-j', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    warm() {
      return warm?.start() ?? Promise.resolve();
    },
    close() {
      return warm?.close() ?? Promise.resolve();
    },
    spawnBeside(program) {
      const [cmd, ...args] = [...spawnArgv.slice(0, spawnArgv.length - argv.length), ...namespacePrefix(argv), ...program] as [string, ...string[]];
      return spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    },
  };
}
