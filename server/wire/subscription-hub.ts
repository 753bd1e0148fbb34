/**
 * Who follows which ref. Agents subscribe by the ref they were given (`main`, `v1.2`, a commit,
 * or a tracked tag pattern); when the repository reports that some ref moved, the hub resolves
 * each distinct subscribed ref once and tells every subscriber of a ref whose commit changed, or
 * (for a tracked pattern) whose chosen tag changed: a higher tag pushed on the same commit is a
 * new release, which an agent that refused the previous tag (a bad signature) must hear about.
 * Resolving per distinct ref keeps the cost independent of the number of agents, and makes the
 * hub indifferent to how a ref is spelled (short name, full name, tag).
 */
export interface MoveListener {
  /** Called with the subscribed ref as the agent spelled it, its new commit and, when tracked, the tag chosen. */
  moved(ref: string, commit: string, tag?: string): void;
}

/** What a subscribed ref resolves to: its commit, or the commit and the tag a pattern chose. */
export type Resolved = string | { commit: string; tag?: string };

export type ResolveRef = (ref: string) => Promise<Resolved>;

/**
 * Listeners told per turn of the event loop. Telling one is a socket write (tens of
 * microseconds), so ten thousand in one synchronous loop blocked the server for hundreds of
 * milliseconds; in batches of this size the fetches, pings and API requests that arrive in the
 * meantime are served between two batches.
 */
export const NOTIFY_BATCH = 256;

export class SubscriptionHub {
  readonly #resolve: ResolveRef;
  readonly #batch: number;
  readonly #refs = new Map<string, { commit: string; tag?: string; listeners: Set<MoveListener> }>();
  #refreshing: Promise<void> | undefined;
  #again = false;

  /** `batch`: listeners told per turn of the event loop (default NOTIFY_BATCH). */
  constructor(resolve: ResolveRef, batch = NOTIFY_BATCH) {
    this.#resolve = resolve;
    this.#batch = Math.max(1, batch);
  }

  /**
   * Subscribe `listener` to `ref`, whose current commit (and, for a tracked pattern, tag) the
   * caller has just resolved ('' when the ref does not exist yet: the first commit it resolves
   * to counts as a move).
   */
  add(ref: string, commit: string, listener: MoveListener, tag?: string): void {
    let entry = this.#refs.get(ref);
    if (!entry) {
      entry = { commit, tag, listeners: new Set() };
      this.#refs.set(ref, entry);
    }
    entry.listeners.add(listener);
  }

  /** Remove `listener` from every ref. */
  remove(listener: MoveListener): void {
    for (const [ref, entry] of this.#refs) {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0) this.#refs.delete(ref);
    }
  }

  /** What subscribed `ref` resolved to at the last refresh; undefined when nobody follows it or it does not exist yet. */
  current(ref: string): { commit: string; tag?: string } | undefined {
    const entry = this.#refs.get(ref);
    return entry && entry.commit !== '' ? { commit: entry.commit, ...(entry.tag !== undefined && { tag: entry.tag }) } : undefined;
  }

  /** Distinct refs followed and listeners in all. */
  get size(): { refs: number; listeners: number } {
    let listeners = 0;
    for (const e of this.#refs.values()) listeners += e.listeners.size;
    return { refs: this.#refs.size, listeners };
  }

  /**
   * Re-resolve every subscribed ref and notify the listeners of those that moved. Calls that
   * arrive while a refresh runs are folded into one more refresh after it, so a burst of ref
   * updates costs at most two passes. A ref that no longer resolves (a deleted branch) keeps its
   * subscribers and last commit until it comes back. Listeners are told NOTIFY_BATCH at a time,
   * yielding to the event loop between batches; one that left meanwhile is not told.
   */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        await this.#refreshOnce();
      } while (this.#again);
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    for (const [ref, entry] of [...this.#refs]) {
      let resolved: Resolved;
      try {
        resolved = await this.#resolve(ref);
      } catch {
        continue;
      }
      const { commit, tag } = typeof resolved === 'string' ? { commit: resolved, tag: undefined } : resolved;
      if (commit === entry.commit && tag === entry.tag) continue;
      entry.commit = commit;
      entry.tag = tag;
      let told = 0;
      for (const l of [...entry.listeners]) {
        if (told > 0 && told % this.#batch === 0) {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (!entry.listeners.has(l)) continue;
        l.moved(ref, commit, tag);
        told += 1;
      }
    }
  }
}
