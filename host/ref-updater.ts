/**
 * Compare-and-swap ref updates through one long-lived `git update-ref --stdin` per repository:
 * git's own locking and checks, without starting git for each update. In a server holding a big
 * set in memory, starting a process costs 15-30 ms (the fork copies its page tables); the element
 * API moves a branch at every change. Each update is one transaction (`start`, `update REF NEW
 * OLD`, `prepare`, `commit`); git answers `…: ok` per step, and exits on a refused one (the ref
 * was not at OLD), after which the next update starts a new process. IO: a child process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { gitEnv } from './run-git.js';
import { HOST_DEFAULTS } from './defaults.js';

interface Job {
  line: string;
  done(): void;
  fail(err: Error & { exitCode?: number }): void;
}

/**
 * Keep the process alive while git owes an answer, or not: the child itself and its stdout and
 * stderr referenced. All three: when git refuses a transaction it exits and its pipes close one
 * after the other; with any of them unreferenced the event loop could end before the child's
 * 'close' is seen (the caller's update then neither resolves nor rejects).
 */
function hold(child: ChildProcessWithoutNullStreams, on: boolean): void {
  if (on) child.ref();
  else child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    const p = stream as unknown as { ref?: () => void; unref?: () => void };
    if (on) p.ref?.();
    else p.unref?.();
  }
}

/** Update refs of one repository; one transaction at a time, in the order asked. */
export class RefUpdater {
  #child: ChildProcessWithoutNullStreams | undefined;
  #current: Job | undefined;
  readonly #queue: Job[] = [];
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #timeoutMs: number;

  /** @param options.timeoutMs one transaction's answer awaited at most (default HOST_DEFAULTS.refUpdateTimeoutMs). */
  constructor(
    private readonly gitdir: string,
    options: { timeoutMs?: number } = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? HOST_DEFAULTS.refUpdateTimeoutMs;
  }

  /**
   * Move `ref` to `next` if it is at `old` (full object ids). Rejects with git's message and exit
   * code when git refuses (the ref moved: the caller reads it and tries again) or cannot run, and
   * when git gives no answer within the time limit (git is stopped; the ref may or may not have
   * moved: read it).
   */
  update(ref: string, next: string, old: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the ref updater is closed'));
    if (/[\s\0]/.test(ref + next + old)) return Promise.reject(new Error(`git update-ref: ${JSON.stringify(ref)} ${next} ${old}: not a ref and object ids`));
    return new Promise((done, fail) => {
      this.#queue.push({ line: `start\nupdate ${ref} ${next} ${old}\nprepare\ncommit\n`, done, fail });
      this.#next();
    });
  }

  /**
   * Stop git; updates waiting are refused, and so is one in flight (git may or may not have
   * moved the ref: the caller reads it again, as after any failure).
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    this.#child = undefined;
    if (child) hold(child, false);
    child?.stdin.end();
    child?.kill();
    const current = this.#current;
    this.#current = undefined;
    current?.fail(new Error('the ref updater is closed (this update may or may not have been made)'));
    for (const j of this.#queue.splice(0)) j.fail(new Error('the ref updater is closed'));
  }

  #next(): void {
    if (this.#current !== undefined || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    this.#current = job;
    try {
      const child = this.#ensure();
      hold(child, true);
      child.stdin.write(job.line);
      this.#timer = setTimeout(() => this.#timedOut(child, job), this.#timeoutMs);
      this.#timer.unref();
    } catch (err) {
      this.#current = undefined;
      job.fail(err as Error);
      this.#next();
    }
  }

  /** `job` had no answer in time: git is stopped (it may hang in a hook or on a lock), the job refused. */
  #timedOut(child: ChildProcessWithoutNullStreams, job: Job): void {
    if (this.#child !== child || this.#current !== job) return;
    this.#child = undefined;
    this.#current = undefined;
    hold(child, false);
    // SIGTERM: git removes its lock files on it (SIGKILL would leave `REF.lock`, refusing every
    // later update of the branch until someone deletes it).
    child.kill('SIGTERM');
    job.fail(Object.assign(new Error(`git update-ref --stdin: no answer within ${this.#timeoutMs} ms (a hook or a lock hanging?): stopped; the ref may or may not have moved`), { exitCode: 1 }));
    this.#next();
  }

  #ensure(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const child = spawn('git', ['update-ref', '-m', 'nft-sync', '--stdin'], { env: gitEnv({ GIT_DIR: resolve(this.gitdir) }), stdio: ['pipe', 'pipe', 'pipe'] });
    // Idle, it must not keep the process alive: neither it nor its pipes (#hold while a transaction runs).
    hold(child, false);
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    // This git's own output: one stopped (timed out, closed) may still have answered into its
    // pipe, and that answer must not be taken for the transaction its successor runs.
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (this.#child !== child) return;
      stdout += d;
      if (stdout.includes('commit: ok\n')) {
        clearTimeout(this.#timer);
        stdout = '';
        const job = this.#current;
        this.#current = undefined;
        hold(child, false);
        job?.done();
        this.#next();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const gone = (code: number | null, err?: Error): void => {
      if (this.#child !== child) return;
      clearTimeout(this.#timer);
      this.#child = undefined;
      const job = this.#current;
      this.#current = undefined;
      if (job) {
        const why = stderr.trim() || err?.message || `exit code ${code ?? 'signal'}`;
        job.fail(Object.assign(new Error(`git update-ref --stdin: ${why}`), { exitCode: code ?? 1, cause: err }));
      }
      this.#next();
    };
    child.on('close', (code) => gone(code));
    child.on('error', (err) => gone(null, err));
    child.stdin.on('error', () => undefined); // EPIPE after git exits: reported through 'exit'
    this.#child = child;
    return child;
  }
}
