/**
 * Who follows which ref. Agents subscribe by the ref they were given (`main`, `v1.2`, a commit);
 * when the repository reports that some ref moved, the hub resolves each distinct subscribed ref
 * once and tells every subscriber of a ref whose commit changed. Resolving per distinct ref keeps
 * the cost independent of the number of agents, and makes the hub indifferent to how a ref is
 * spelled (short name, full name, tag).
 */
export interface MoveListener {
  /** Called with the subscribed ref as the agent spelled it and its new commit. */
  moved(ref: string, commit: string): void;
}

export type ResolveRef = (ref: string) => Promise<string>;

export class SubscriptionHub {
  readonly #resolve: ResolveRef;
  readonly #refs = new Map<string, { commit: string; listeners: Set<MoveListener> }>();
  #refreshing: Promise<void> | undefined;
  #again = false;

  constructor(resolve: ResolveRef) {
    this.#resolve = resolve;
  }

  /**
   * Subscribe `listener` to `ref`, whose current commit the caller has just resolved ('' when
   * the ref does not exist yet: the first commit it resolves to counts as a move).
   */
  add(ref: string, commit: string, listener: MoveListener): void {
    let entry = this.#refs.get(ref);
    if (!entry) {
      entry = { commit, listeners: new Set() };
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
   * subscribers and last commit until it comes back.
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
      let commit: string;
      try {
        commit = await this.#resolve(ref);
      } catch {
        continue;
      }
      if (commit === entry.commit) continue;
      entry.commit = commit;
      for (const l of entry.listeners) l.moved(ref, commit);
    }
  }
}
