/**
 * Scratch network namespaces kept warm for the push check the server runs (server/push-check-*):
 * one is created at the first check and reused, emptied (`nft flush ruleset`) after each check
 * and before the next one takes it, and removed by close(). Checks that overlap get a namespace
 * each; past `keep` idle ones the extras are removed. The flush runs after the check has
 * answered, so no push waits for it.
 *
 * Never leaked: every namespace is deleted by close(), on the process's exit (scratch-netns.ts),
 * and a server that was killed (SIGKILL) has its leftovers removed by the next pool's sweep:
 * names carry the owner's pid (`nfts-check-PID-HEX`), and only those of dead pids are removed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openScratchNetns, scratchNftRunner, type ScratchNetns } from './scratch-netns.js';
import { HOST_DEFAULTS } from './defaults.js';

const run = promisify(execFile);

/** How long a lease waits for a namespace being emptied before it makes a new one. */
const RETURN_WAIT_MS = HOST_DEFAULTS.scratch.returnWaitMs;

/** Name prefix of the pool's namespaces. */
export const SCRATCH_POOL_PREFIX = 'nfts-check';

export interface ScratchPoolOptions {
  /** Idle namespaces kept between checks (default 1). */
  keep?: number;
  /** Told the name of each namespace created and removed (for a crash-safe record elsewhere). */
  onCreate?: (name: string) => void;
  onRemove?: (name: string) => void;
}

export class ScratchPool {
  readonly #idle: ScratchNetns[] = [];
  readonly #all = new Set<ScratchNetns>();
  readonly #keep: number;
  readonly #opts: ScratchPoolOptions;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  #swept = false;

  constructor(opts: ScratchPoolOptions = {}) {
    this.#keep = opts.keep ?? 1;
    this.#opts = opts;
  }

  /**
   * A namespace for one check, its nft runs limited to `nftTimeoutMs` each (default: the
   * namespace's own 60 s): the caller loads into it and calls its close() when done, which
   * gives it back (never awaits the flush). Errors: NFTSYNC_ERR_NETNS_UNAVAILABLE as
   * openScratchNetns (not root, `ip netns add` fails); Error after close().
   */
  async lease(nftTimeoutMs?: number): Promise<ScratchNetns> {
    if (this.#closed) throw new Error('scratch pool closed');
    if (!this.#swept) {
      this.#swept = true;
      await sweepDeadOwners();
    }
    // A namespace being emptied right now is usually back within milliseconds: wait a little
    // for it rather than make another (a big set's flush takes longer: then make another).
    if (this.#idle.length === 0 && this.#pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([...this.#pending, new Promise<void>((resolve) => (timer = setTimeout(resolve, RETURN_WAIT_MS)))]);
      clearTimeout(timer);
    }
    const ns = this.#idle.pop() ?? (await this.#open());
    let given = false;
    return {
      name: ns.name,
      nft: nftTimeoutMs === undefined ? ns.nft : scratchNftRunner(ns.name, nftTimeoutMs),
      close: async () => {
        if (given) return;
        given = true;
        const p = this.#giveBack(ns).finally(() => this.#pending.delete(p));
        this.#pending.add(p);
      },
    };
  }

  /** Remove every namespace (waiting for flushes under way). Never throws; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pending]);
    await Promise.all([...this.#all].map((ns) => this.#remove(ns)));
  }

  async #open(): Promise<ScratchNetns> {
    const ns = await openScratchNetns(SCRATCH_POOL_PREFIX);
    this.#all.add(ns);
    this.#opts.onCreate?.(ns.name);
    if (this.#closed) {
      await this.#remove(ns);
      throw new Error('scratch pool closed');
    }
    return ns;
  }

  async #giveBack(ns: ScratchNetns): Promise<void> {
    if (!this.#closed && this.#idle.length < this.#keep) {
      try {
        await ns.nft.run(['flush', 'ruleset']);
        if (!this.#closed) {
          this.#idle.push(ns);
          return;
        }
      } catch {
        // a namespace that cannot be emptied is not reused
      }
    }
    await this.#remove(ns);
  }

  async #remove(ns: ScratchNetns): Promise<void> {
    if (!this.#all.delete(ns)) return;
    const i = this.#idle.indexOf(ns);
    if (i >= 0) this.#idle.splice(i, 1);
    await ns.close();
    this.#opts.onRemove?.(ns.name);
  }
}

/** Delete `nfts-check-PID-*` namespaces whose PID no longer runs (a server killed with SIGKILL). */
async function sweepDeadOwners(): Promise<void> {
  let listed: string;
  try {
    listed = (await run('ip', ['netns', 'list'])).stdout;
  } catch {
    return;
  }
  const pattern = new RegExp(`^(${SCRATCH_POOL_PREFIX}-(\\d+)-[0-9a-f]+)\\b`);
  for (const line of listed.split('\n')) {
    const m = pattern.exec(line.trim());
    if (!m || alive(Number(m[2]))) continue;
    await run('ip', ['netns', 'delete', m[1]!]).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
