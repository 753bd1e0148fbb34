/**
 * A least-recently-used cache bounded by a total size (bytes, or any weight), plus de-duplication
 * of concurrent loads: when a thousand agents ask for the same new revision at once, the object
 * is read from git once and the others wait for that read.
 */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private readonly loading = new Map<string, Promise<V>>();
  private total = 0;

  /**
   * @param maxSize total size kept; an entry larger than this is returned but not kept.
   * @param sizeOf the size of a value (for a count-bounded cache, `() => 1`).
   */
  constructor(
    readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  /** Sum of the sizes of the kept entries. */
  get size(): number {
    return this.total;
  }

  /** The cached value, marking it most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  /** Keep `value`, evicting least recently used entries until the total fits. */
  set(key: string, value: V): void {
    const size = this.sizeOf(value);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.total -= old.size;
    }
    if (size > this.maxSize) return;
    this.entries.set(key, { value, size });
    this.total += size;
    for (const [k, e] of this.entries) {
      if (this.total <= this.maxSize) break;
      this.entries.delete(k);
      this.total -= e.size;
    }
  }

  /**
   * The cached value, or the result of `load()` (cached when it resolves). Concurrent calls for
   * the same key share one `load()`. A rejected load is not cached; the next call tries again.
   */
  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const p = load().then(
      (value) => {
        this.loading.delete(key);
        this.set(key, value);
        return value;
      },
      (err: unknown) => {
        this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, p);
    return p;
  }

  /**
   * The value of `key` is on its way (worked out elsewhere): getOrLoad waits for `value` rather
   * than loading it, and it is kept once it resolves. A rejection is forgotten (the next
   * getOrLoad loads), never reported as unhandled.
   */
  loadWith(key: string, value: Promise<V>): void {
    const p: Promise<V> = value.then(
      (v) => {
        if (this.loading.get(key) === p) this.loading.delete(key);
        this.set(key, v);
        return v;
      },
      (err: unknown) => {
        if (this.loading.get(key) === p) this.loading.delete(key);
        throw err;
      },
    );
    p.catch(() => undefined);
    this.loading.set(key, p);
  }

  /** Forget everything. */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
