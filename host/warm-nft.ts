/**
 * An `nft -j -f -` started ahead of the next load, waiting for its input: the load then costs
 * nft's own work only, not the start of a process (a fork of the agent, 10-15 ms when it holds a
 * 1,000,000-element ruleset, then exec, the dynamic linker and nft's set-up: 20-25 ms in all).
 *
 * Why it is safe: nft reads its whole input before it sends anything to the kernel, and the
 * input is a single JSON document. A warm nft whose input is never closed waits for ever and
 * changes nothing; killed (close, the agent's exit with `setpriv --pdeathsig KILL`), it changes
 * nothing; if the agent dies without the parent-death signal, nft reads an end of input with no
 * document (or a cut one: JSON.stringify's output has no complete prefix), which its JSON parser
 * refuses, and then reopens its input for its other parser and waits for a writer for ever
 * (nft 1.0.6): it changes nothing, and stays until killed. A child is killed with its process
 * group (it leads one), so a command that forks nft (a wrapper script) leaves no such nft.
 *
 * Its stdin: nft 1.0.6 reopens /dev/stdin, which a socket refuses (ENXIO), and Node can make no
 * pipe; so it is a FIFO made with `mkfifo` in a folder of its own (mkdtemp, mode 0700) in the
 * runner's temporary folder, opened at both ends by this process (never through a link, and
 * checked to be a FIFO of this user's, mode 0600: nothing anyone else put at its path between
 * mkfifo and the opens is read as a batch) and removed at once (nothing lingers): nft's fd 0 is its read end (nft
 * reopens it through /proc), the agent keeps its write end, writes the batch into it and closes
 * it. Every descriptor Node opens is close-on-exec, so no other child holds the write end open.
 *
 * nft must have opened the FIFO before the write end is closed (else its open waits for a writer
 * for ever): a child counts as waiting only once /proc shows it holding the FIFO (a few ms after
 * its start). When that cannot be seen (nft run as another user through sudo, whose /proc this
 * process cannot read), warm loads stop for this runner; when a start takes over OPEN_WAIT_MS
 * (a busy host), that child is killed and the next start tried after the next load, and only
 * SLOW_STARTS_MAX slow starts in a row stop them. One child waits at a time; `take` hands it out
 * once, and a child that has died meanwhile (seen in /proc, even before its exit event) is dropped
 * there (the load then starts nft as usual). The child is started through the runner's
 * command (the die-with-parent prefix, `ip netns exec`, `nsenter`, `sudo`), so its PID is nft's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Throws unless `fd` is a FIFO owned by this process's user and open to no one else (mode 0600):
 * the one mkfifo made, not a file someone else put at its path.
 */
function assertOwnFifo(fd: number): void {
  const st = fstatSync(fd);
  if (!st.isFIFO() || st.uid !== process.geteuid?.() || (st.mode & 0o077) !== 0) throw new Error('the input FIFO is not the one made for nft');
}

/** A waiting nft, and the write end of its stdin. */
export interface WarmChild {
  child: ChildProcess;
  /** Write end of the child's stdin (a FIFO): write the input, then close it. */
  inputFd: number;
}

/** Longest wait for a new nft to open its input (its start: setpriv, ip netns exec, nft's libraries). */
const OPEN_WAIT_MS = 2000;
/** Slow starts in a row (each over OPEN_WAIT_MS, nft's input seen not yet open) that stop warm loads. */
export const SLOW_STARTS_MAX = 3;

/** True when process `pid` holds the file `dev`/`ino` open on a descriptor other than 0. */
/**
 * Whether child `pid` holds the FIFO `dev`/`ino` open on a descriptor other than 0; 'hidden' when
 * its descriptors cannot be read (another user's process, or gone).
 */
function hasOpened(pid: number | undefined, dev: number, ino: number): boolean | 'hidden' {
  if (pid === undefined) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 'hidden';
  }
  for (const fd of fds) {
    if (fd === '0') continue;
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      if (st.ino === ino && st.dev === dev) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/**
 * SIGKILL `child` and every process of its group (it was started leading a group of its own):
 * a command that forks nft rather than exec it (a wrapper script without `exec`, sudo) would
 * otherwise leave that nft behind, orphaned, out of reach of the die-with-parent signal (set on
 * the child only); with its input's write end closed, nft -j then reopens its input for its
 * second parser and waits for a writer for ever. Only while the child has not been reaped (its
 * group is its PID until then). Never throws.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch {
      // no such group: the child alone
    }
  }
  child.kill('SIGKILL');
}

export class WarmNft {
  readonly #file: string;
  readonly #args: readonly string[];
  readonly #dir: string;
  /** The child waiting, with the FIFO's identity (to see at `take` that it still holds it). */
  #waiting: (WarmChild & { dead: boolean; dev: number; ino: number }) | undefined;
  /** The start in progress (close waits for it). */
  #starting: Promise<void> | undefined;
  #closed = false;
  /** mkfifo or the spawn failed once: no more warm children (loads start nft as usual). */
  #broken = false;
  /** Starts in a row that took over OPEN_WAIT_MS with nft seen not to have opened its input yet. */
  #slowStarts = 0;

  /** Children of `file args` (the runner's command with `-j -f -`), their FIFOs made in `dir`. */
  constructor(file: string, args: readonly string[], dir: string) {
    this.#file = file;
    this.#args = args;
    this.#dir = dir;
  }

  /** PID of the child waiting now (tests), if any. */
  get waitingPid(): number | undefined {
    return this.#waiting?.child.pid;
  }

  /**
   * Start a child unless one waits, one is starting, or this was closed or broken. Resolves once
   * it waits (or could not start). Never rejects.
   */
  start(): Promise<void> {
    if (this.#waiting !== undefined || this.#starting !== undefined || this.#closed || this.#broken) return this.#starting ?? Promise.resolve();
    this.#starting = this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      // In a folder of its own (mkdtemp: made by this process, mode 0700), so no one else can put
      // anything at the FIFO's path between mkfifo (another process) and the opens below; and the
      // ends are opened without following a link and checked to be that FIFO, made by this user.
      const own = mkdtempSync(join(this.#dir, `.nft-sync-fifo-${process.pid}-`));
      const path = join(own, 'input');
      let readFd: number;
      let inputFd: number;
      try {
        await new Promise<void>((resolve, reject) => execFile('mkfifo', ['-m', '600', path], (err) => (err ? reject(err) : resolve())));
        // The read end first, not blocking (no writer yet); then the write end, at once (a reader is there).
        readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
        try {
          assertOwnFifo(readFd);
          inputFd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
          const r = fstatSync(readFd);
          const w = fstatSync(inputFd);
          if (w.dev !== r.dev || w.ino !== r.ino) {
            closeSync(inputFd);
            throw new Error(`${path} changed between its two opens`);
          }
        } catch (err) {
          closeSync(readFd);
          throw err;
        }
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
      if (this.#closed) {
        closeSync(readFd);
        closeSync(inputFd);
        return;
      }
      let child: ChildProcess;
      try {
        // Leading a process group of its own (killGroup): whatever it forks goes with it.
        child = spawn(this.#file, [...this.#args], { stdio: [readFd, 'pipe', 'pipe'], detached: true });
      } finally {
        closeSync(readFd);
      }
      const { dev, ino } = fstatSync(inputFd);
      const warm = { child, inputFd, dead: false, dev, ino };
      const died = (): void => {
        if (warm.dead) return;
        warm.dead = true;
        if (this.#waiting === warm) this.#waiting = undefined;
        closeSync(inputFd);
      };
      child.once('error', died);
      child.once('exit', died);
      // Not to keep the agent alive while it waits (close, or the exit of the agent, ends it).
      child.unref();
      (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
      (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
      // Only once nft has opened its input may the write end be closed: a FIFO opened for reading
      // with no writer waits for one for ever. So it waits here until nft holds it open.
      const until = performance.now() + OPEN_WAIT_MS;
      let opened: boolean | 'hidden' = false;
      while (!warm.dead && (opened = hasOpened(child.pid, dev, ino)) !== true) {
        if (performance.now() > until) {
          // Not seen. Its descriptors hidden (nft runs as another user): no warm loads on this
          // runner. Seen, but not open yet (a busy host): this one goes, the next load starts
          // another, and only SLOW_STARTS_MAX in a row stop warm loads.
          this.#slowStarts += 1;
          if (opened === 'hidden' || this.#slowStarts >= SLOW_STARTS_MAX) this.#broken = true;
          killGroup(child);
          died();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // Waiting (close, if it came meanwhile, kills it once this start is over).
      if (!warm.dead) {
        this.#slowStarts = 0;
        this.#waiting = warm;
      }
    } catch {
      this.#broken = true;
    }
  }

  /**
   * The waiting child, handed out once (the caller owns it and its inputFd from now on, and
   * listens to it), or undefined when none waits alive. Starts no other.
   */
  take(): WarmChild | undefined {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w === undefined) return undefined;
    w.child.removeAllListeners('error');
    w.child.removeAllListeners('exit');
    // Dead, even if the event loop has not seen it yet (killed while the agent was busy: a zombie
    // holds no file): not handed a load, which it would fail (NFTSYNC_ERR_NFT_APPLY, recorded
    // against the revision), but left to an nft started for it.
    if (w.dead || w.child.exitCode !== null || w.child.signalCode !== null || hasOpened(w.child.pid, w.dev, w.ino) !== true) {
      if (!w.dead) {
        killGroup(w.child);
        closeSync(w.inputFd);
      }
      w.dead = true;
      return undefined;
    }
    w.child.ref();
    (w.child.stdout as unknown as { ref?: () => void } | null)?.ref?.();
    (w.child.stderr as unknown as { ref?: () => void } | null)?.ref?.();
    return { child: w.child, inputFd: w.inputFd };
  }

  /** Kill the waiting child (its input never closed: it changes nothing) and start no more. Resolves once it has exited. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting;
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w === undefined || w.dead) return;
    const exited = new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
      else w.child.once('exit', () => resolve());
    });
    w.child.ref();
    killGroup(w.child);
    await exited;
  }
}
