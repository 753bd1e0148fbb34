/**
 * Notices when a branch or tag moves, so the server can tell subscribed agents within
 * milliseconds of a push instead of at their next poll.
 *
 * How: inotify (fs.watch) on every directory git writes refs into (`refs/heads`, `refs/tags`
 * and their subdirectories, and the git directory itself for `packed-refs`); any event there
 * schedules a re-read of all refs a couple of milliseconds later (so the several files one push
 * writes make one scan), and the new values are compared with the last ones. The comparison is
 * what decides: `git gc` rewrites `packed-refs` and deletes loose refs, which fires events but
 * changes no value, so nothing is reported. A poll (default every second) catches anything
 * inotify misses (network file systems, a directory created between two scans, overflow).
 * A writer in the same process (the element API) says when it moved a ref (`refsWritten`): the
 * move is taken at once when the copy held the ref's old value (the writer's compare-and-swap
 * proved it), and a scan starts at once, without waiting for the file event and its debounce.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { refCandidates } from '../../shared/git/ref-candidates.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface RefWatcherOptions {
  /** The git directory (a bare repository's own directory). */
  gitdir: string;
  /** Full ref name -> commit id of every branch and tag (RulesetRepository.listRefs). */
  listRefs: () => Promise<Map<string, string>>;
  /** Safety-net poll period; 0 turns polling off. Default 1000 ms. */
  pollMs?: number;
  /** Wait after the first file event before scanning, to take a burst as one. Default 2 ms. */
  debounceMs?: number;
  /** Use file system events (default true); false leaves only the poll (tests, odd file systems). */
  fsEvents?: boolean;
}

export interface RefWatcherEvents {
  /** `commit` is the ref's new commit id, undefined when the ref was deleted. */
  moved: [refname: string, commit: string | undefined];
  /** A scan failed; the watcher keeps going and tries again at the next event or poll. */
  error: [err: Error];
}

/** Directories under the git directory where git writes loose refs. */
const REF_ROOTS = ['refs/heads', 'refs/tags'];

export class RefWatcher extends EventEmitter<RefWatcherEvents> {
  private refs = new Map<string, string>();
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private running = false;
  /** Completed scans; lets readers cache what they derive from one (HEAD's target). */
  private generation = 0;
  /** The turn of the event loop fresh() waits for (shared by the callers of one turn). */
  private turn: Promise<void> | undefined;
  /** Resolved when no scan is scheduled or running any more. */
  private idleWaiters: Array<{ need: number; resolve: () => void }> = [];
  /** Scan passes started (each turn of scan()'s loop). */
  private passesStarted = 0;
  /**
   * Moves taken from refsWritten, by ref, with the scan pass running then: a scan pass that began
   * before the move may read the ref's old value, which must not take the copy back; after two
   * moves during one pass, either old value (`olds`).
   */
  private written = new Map<string, { commit: string; olds: ReadonlySet<string>; pass: number }>();

  constructor(private readonly options: RefWatcherOptions) {
    super();
  }

  /**
   * Read the refs once (no events for what exists at start), then watch. Resolves when watching.
   * Rejects if the first read fails (e.g. the repository is gone). Calling it twice does nothing.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.refs = await this.options.listRefs();
      if (this.options.fsEvents !== false) {
        // HEAD too: readers cache its target per scan (RulesetRepository.useRefView).
        this.watchDir(this.options.gitdir, (name) => name === null || name === 'packed-refs' || name === 'HEAD');
        await this.syncDirWatchers();
      }
    } catch (err) {
      this.stop();
      throw err;
    }
    const pollMs = this.options.pollMs ?? SERVER_DEFAULTS.repository.refPollMs;
    if (pollMs > 0) {
      this.poller = setInterval(() => this.trigger(0), pollMs);
      this.poller.unref();
    }
  }

  /** Stop watching: closes every watcher and timer. Events of a scan in flight are dropped. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.timer = this.poller = undefined;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.wakeIdle();
  }

  /** Wake the waiters whose pass is done. */
  private wakeDone(): void {
    const ready = this.idleWaiters.filter((w) => w.need <= this.generation);
    if (ready.length === 0) return;
    this.idleWaiters = this.idleWaiters.filter((w) => w.need > this.generation);
    for (const w of ready) w.resolve();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The commit `refname` (a full ref name) points to, as of the last scan. */
  current(refname: string): string | undefined {
    return this.refs.get(refname);
  }

  /** All branches and tags as of the last scan. */
  snapshot(): ReadonlyMap<string, string> {
    return this.refs;
  }

  /**
   * The refs as of the last scan, once the scans that events already delivered have run: a
   * request that arrives after a push (whose file events were queued before the request's bytes)
   * sees the push. Waits for one poll phase of the event loop so file events already queued are handled
   * first, then for the scheduled or running scan, if any. Without file events (fsEvents false)
   * the copy may lag by up to a poll period; callers then read the files themselves.
   */
  async fresh(): Promise<{ refs: ReadonlyMap<string, string>; generation: number }> {
    // One turn shared by every request of the same poll phase.
    // Two checks phases, so one poll phase runs between them: a ref file renamed before this call
    // (a push that just returned) has its file event read and its scan scheduled by then. One
    // setImmediate alone may run before the next poll and miss it (read-your-writes after a push).
    this.turn ??= new Promise<void>((resolve) =>
      setImmediate(() =>
        setImmediate(() => {
          this.turn = undefined;
          resolve();
        }),
      ),
    );
    await this.turn;
    // Wait for the first pass that starts after what was signalled: the next one when an event
    // is pending (a scheduled scan, or one asked for during the running pass), else the running
    // one. Never for later passes: a poll that keeps scanning must not starve requests.
    const pending = this.timer !== undefined || (this.scanning !== undefined && this.again);
    const need = pending ? this.passesStarted + 1 : this.scanning !== undefined ? this.passesStarted : 0;
    if (this.running && need > this.generation) {
      await new Promise<void>((resolve) => this.idleWaiters.push({ need, resolve }));
    }
    return { refs: this.refs, generation: this.generation };
  }

  /** True while file events keep the copy current (started, and fsEvents not turned off). */
  get live(): boolean {
    return this.running && this.options.fsEvents !== false;
  }

  /**
   * The full ref name a short name given by an agent (`main`, `v1.0`, `refs/heads/x`) stands
   * for now, in git's order (a tag before a branch); undefined when none exists (a commit id or
   * a ref not created yet: subscribe to every name of refCandidates(ref) to catch its creation).
   */
  fullRefName(ref: string): string | undefined {
    return refCandidates(ref).find((name) => this.refs.has(name));
  }

  /**
   * A writer in this process has just moved a ref (the element API, server/git/element-tips.ts):
   * with `move` (ref `ref` moved from `old` to `commit` by compare-and-swap), when the copy holds
   * `old` for it, the copy takes the move and `moved` is emitted now, before any file is read
   * (a scan that began before and reads `old` does not take it back); then scan now, not after
   * the file event and its debounce (or, without file events, the next poll), so subscribed
   * agents are told at once of whatever else moved. A scan already scheduled is taken over; one
   * running is followed by one more, as after any event. Does nothing when stopped.
   */
  refsWritten(move?: { ref: string; commit: string; old: string }): void {
    if (!this.running) return;
    if (move !== undefined && move.commit !== move.old && this.refs.get(move.ref) === move.old) {
      this.refs = new Map(this.refs).set(move.ref, move.commit);
      const w = this.written.get(move.ref);
      const olds = new Set(w !== undefined && w.pass === this.passesStarted ? w.olds : []).add(move.old);
      this.written.set(move.ref, { commit: move.commit, olds, pass: this.passesStarted });
      this.emit('moved', move.ref, move.commit);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    void this.scan();
  }

  /** Scan after `delay` ms unless a scan is already scheduled. */
  private trigger(delay: number): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scan();
    }, delay);
  }

  private async scan(): Promise<void> {
    if (this.scanning) {
      this.again = true; // something changed while we read: read again once this one is done
      return;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        this.passesStarted += 1;
        const pass = this.passesStarted;
        try {
          const next = await this.options.listRefs();
          if (!this.running) return;
          for (const [name, w] of this.written) {
            // A move taken while this pass read the refs: the old value read is not news.
            const read = next.get(name);
            if (w.pass >= pass && read !== undefined && w.olds.has(read)) next.set(name, w.commit);
            else if (w.pass < pass) this.written.delete(name);
          }
          const before = this.refs;
          this.refs = next;
          for (const [name, commit] of next) if (before.get(name) !== commit) this.emit('moved', name, commit);
          for (const name of before.keys()) if (!next.has(name)) this.emit('moved', name, undefined);
          if (this.options.fsEvents !== false && (await this.syncDirWatchers())) this.again = true;
        } catch (err) {
          if (this.running && this.listenerCount('error') > 0) this.emit('error', err as Error);
        }
        this.generation = this.passesStarted;
        this.wakeDone();
      } while (this.again && this.running);
    })();
    try {
      await this.scanning;
    } finally {
      this.scanning = undefined;
    }
  }

  /** Watch every directory under REF_ROOTS, drop watchers of vanished ones; true if any was added. */
  private async syncDirWatchers(): Promise<boolean> {
    const dirs = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // vanished meanwhile
      }
      dirs.add(dir);
      await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => walk(join(dir, e.name))));
    };
    await Promise.all(REF_ROOTS.map((r) => walk(join(this.options.gitdir, r))));
    if (!this.running) return false;
    let added = false;
    for (const dir of dirs) {
      if (!this.watchers.has(dir)) added = this.watchDir(dir, (name) => name === null || !name.endsWith('.lock')) || added;
    }
    for (const [dir, w] of this.watchers) {
      if (dir !== this.options.gitdir && !dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    return added;
  }

  private watchDir(dir: string, relevant: (filename: string | null) => boolean): boolean {
    try {
      // persistent: false: the watcher alone never keeps the process alive.
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        if (relevant(filename === null ? null : String(filename))) this.trigger(this.options.debounceMs ?? 2);
      });
      w.on('error', () => {
        // The directory was removed (a deleted branch's namespace): forget it; the poll and the
        // next scan's directory walk take over.
        w.close();
        if (this.watchers.get(dir) === w) this.watchers.delete(dir);
        this.trigger(0);
      });
      this.watchers.set(dir, w);
      return true;
    } catch {
      return false; // vanished before we could watch it
    }
  }
}
