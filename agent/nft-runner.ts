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
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSyncError, type ErrorCode } from '../shared/errors.js';
import type { Ruleset, TableRef } from '../shared/ruleset-types.js';

export interface NftResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Code of the error thrown when nft exits non-zero (default NFTSYNC_ERR_NFT_EXEC). */
  errorCode?: ErrorCode;
}

export interface NftRunner {
  /** The argv prefix that runs nft, e.g. `['ip','netns','exec','ns1','nft']`. */
  readonly argv: readonly string[];
  /**
   * Run nft with `args`, feeding `input` on stdin. Resolves with its output on exit 0.
   * Errors: NFTSYNC_ERR_NFT_EXEC when it cannot be started; on a non-zero exit,
   * `options.errorCode` (default NFTSYNC_ERR_NFT_EXEC) with nft's first error lines in the
   * message and `data: {exitCode, stderr}`; NFTSYNC_ERR_TIMEOUT after `timeoutMs`.
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
}

export interface NftRunnerOptions {
  /** Kill nft and fail with NFTSYNC_ERR_TIMEOUT after this many milliseconds (0: never). */
  timeoutMs?: number;
  /** Directory for the short-lived (already unlinked) input files; default os.tmpdir(). */
  tmpDir?: string;
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
  const [file, ...prefix] = argv as [string, ...string[]];
  const timeoutMs = options.timeoutMs ?? 0;

  const dir = options.tmpDir ?? tmpdir();

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
    new Promise((resolve, reject) => {
      const child = spawn(file, [...prefix, ...args], { stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs) : undefined;
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
        if (timedOut) {
          reject(new NftSyncError('NFTSYNC_ERR_TIMEOUT', `nft ${args.join(' ')} did not finish within ${timeoutMs} ms`, { data: { timeoutMs } }));
        } else if (code === 0) {
          resolve({ stdout, stderr });
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

  return {
    argv,
    run,
    async applyJson(json) {
      await run(['-j', '-f', '-'], toInput(json), { errorCode: 'NFTSYNC_ERR_NFT_APPLY' });
    },
    async checkJson(json) {
      await run(['-c', '-j', '-f', '-'], toInput(json), { errorCode: 'NFTSYNC_ERR_NFT_CHECK' });
    },
    async listTables() {
      const { stdout } = await run(['-j', 'list', 'tables'], undefined, { errorCode: 'NFTSYNC_ERR_NFT_LIST' });
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
      const { stdout } = await run(args, input, { errorCode: 'NFTSYNC_ERR_NFT_LIST' });
      const doc = parseJson(stdout, `table ${family} ${name}`) as Ruleset;
      if (!Array.isArray(doc.nftables)) throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', `nft listed table ${family} ${name} without an nftables array`);
      return doc;
    },
  };
}
