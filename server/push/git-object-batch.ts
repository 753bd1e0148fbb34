/**
 * One `git cat-file --batch` process that answers object reads one after the other: the push
 * validator's only git process per push (it replaced a `cat-file`, `ls-tree` and `diff-tree` run
 * per ref, each a process start on the push's path). Runs with the caller's environment added
 * (git's quarantine variables), so the objects of a push not yet accepted are found.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { toNftSyncError } from '../../shared/errors.js';
import type { GitObjectType } from '../../shared/git/git-objects.js';
import { gitEnv as runGitEnv } from '../../host/run-git.js';

/** An object as git gave it. */
export interface BatchObject {
  oid: string;
  type: GitObjectType;
  content: Buffer;
}

interface Waiting {
  spec: string;
  resolve: (o: BatchObject | undefined) => void;
  reject: (err: Error) => void;
}

export class GitObjectBatch {
  readonly #gitdir: string;
  readonly #env: Record<string, string>;
  #child: ChildProcessWithoutNullStreams | undefined;
  readonly #waiting: Waiting[] = [];
  /** What git wrote and no read has taken yet, in the chunks it came in (joined only when whole: see #drain). */
  #parts: Buffer[] = [];
  #length = 0;
  /** Bytes needed before the next answer can be taken (its header, or its header and content). */
  #need = 0;
  #stderr = '';
  #failed: Error | undefined;

  /**
   * Reads from `git --git-dir GITDIR cat-file --batch` with `env` added to git's environment,
   * started at the first read (a push with nothing to read starts no process).
   */
  constructor(gitdir: string, env: Record<string, string> = {}) {
    this.#gitdir = gitdir;
    this.#env = env;
  }

  #start(): ChildProcessWithoutNullStreams {
    const child = spawn('git', ['--git-dir', this.#gitdir, 'cat-file', '--batch'], { env: runGitEnv(this.#env), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => {
      // Kept as chunks until the answer is whole: joining at each chunk copied all that came
      // before, once per 64 KiB (a 47 MB blob: 15 s of the event loop).
      this.#parts.push(c);
      this.#length += c.length;
      if (this.#length >= this.#need) this.#drain();
    });
    child.stderr.on('data', (c: Buffer) => (this.#stderr += c.toString()));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => this.#fail(err.message));
    child.on('close', (code) => this.#fail(`exit ${code}`));
    return child;
  }

  /**
   * The object `spec` names (an id, or any revision git accepts, e.g. `ID^{commit}` to peel a
   * tag); undefined when git says it is missing (or ambiguous). Errors:
   * NFTSYNC_ERR_REPO_GIT_FAILED when git fails or stopped. A spec with a newline is refused.
   */
  read(spec: string): Promise<BatchObject | undefined> {
    if (/[\n\r]/.test(spec)) return Promise.reject(toNftSyncError(new Error(`git object name ${JSON.stringify(spec)} has a line break`), 'NFTSYNC_ERR_REPO_GIT_FAILED'));
    if (this.#failed) return Promise.reject(this.#failed);
    this.#child ??= this.#start();
    const child = this.#child;
    return new Promise((resolve, reject) => {
      this.#waiting.push({ spec, resolve, reject });
      child.stdin.write(`${spec}\n`);
    });
  }

  /** End the process (its stdin closed); no read may follow. Reads still waiting fail. Never throws. */
  close(): void {
    this.#child?.stdin.end();
    this.#failed ??= toNftSyncError(new Error('git cat-file --batch was closed'), 'NFTSYNC_ERR_REPO_GIT_FAILED');
  }

  /** The bytes not taken yet, as one Buffer (joined once, when an answer is whole). */
  #joined(): Buffer {
    if (this.#parts.length !== 1) this.#parts = [this.#parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(this.#parts, this.#length)];
    return this.#parts[0]!;
  }

  /** Keep `rest` (what follows an answer taken) as the bytes not taken yet. */
  #keep(rest: Buffer): void {
    this.#parts = rest.length === 0 ? [] : [rest];
    this.#length = rest.length;
    this.#need = 0;
  }

  #drain(): void {
    while (this.#waiting.length > 0) {
      const buf = this.#joined();
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        this.#need = buf.length + 1;
        return;
      }
      const head = buf.subarray(0, nl).toString('latin1');
      const w = this.#waiting[0]!;
      if (/ (missing|ambiguous)$/.test(head)) {
        this.#keep(buf.subarray(nl + 1));
        this.#waiting.shift();
        w.resolve(undefined);
        continue;
      }
      const [oid, type, size] = head.split(' ');
      const n = Number(size);
      if (oid === undefined || !/^(tag|commit|tree|blob)$/.test(type ?? '') || !Number.isSafeInteger(n)) {
        this.#fail(`unexpected answer ${JSON.stringify(head.slice(0, 100))}`);
        this.#child?.kill();
        return;
      }
      if (buf.length < nl + 1 + n + 1) {
        // The content (and its newline) is still coming: nothing is joined again until it is here.
        this.#need = nl + 1 + n + 1;
        return;
      }
      const content = Buffer.from(buf.subarray(nl + 1, nl + 1 + n));
      this.#keep(buf.subarray(nl + 1 + n + 1));
      this.#waiting.shift();
      w.resolve({ oid, type: type as GitObjectType, content });
    }
  }

  #fail(why: string): void {
    this.#failed ??= toNftSyncError(new Error(`git cat-file --batch failed (${why}): ${this.#stderr.trim()}`), 'NFTSYNC_ERR_REPO_GIT_FAILED');
    for (const w of this.#waiting.splice(0)) w.reject(this.#failed);
  }
}
