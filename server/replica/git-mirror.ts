/**
 * A replica's copy of the primary's repository: `git clone --mirror` of the primary's git smart
 * HTTP (`--mirror-of URL`) at start, then `git fetch --prune` whenever the primary's refs
 * change. The primary tells the replica of each push: the replica holds a long poll of its
 * `GET /api/v1/refs/changes`, answered when a ref moves there. Besides, the replica asks the
 * primary's `info/refs` (the ref advertisement, one small HTTP request) every `pollMs` and
 * fetches when the answer differs from the last one (a primary without the route, a lost
 * answer), so it holds a push within about pollMs plus one fetch at worst.
 *
 * The replica authenticates to the primary as any git client does: a token (NFT_SYNC_TOKEN or
 * --mirror-token-file) as the basic-auth password, passed to git through its environment, never
 * on a command line. The mirror is only ever written by these fetches: the replica refuses pushes.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { NftSyncError } from '../../shared/errors.js';
import { runGit } from '../../host/run-git.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** The config keys `open` sets on an existing mirror (listed for simple-git's config guard). */
const MIRROR_CONFIG_KEYS = ['remote.origin.url', 'remote.origin.mirror', 'remote.origin.fetch'] as const;

export interface GitMirrorOptions {
  /** The primary's git smart-HTTP URL, e.g. `http://primary:7401/git/rules.git`. */
  url: string;
  /** Where the mirror lives (a bare repository; made by `git clone --mirror` when absent or empty). */
  gitdir: string;
  /** Sent as the basic-auth password to the primary. */
  token?: string;
  logger: Logger;
  /** Ask the primary for its refs this often, in ms (default SERVER_DEFAULTS.replica.pollMs). */
  pollMs?: number;
  /** Hold the long poll of the primary's ref changes (default true; tests of a stale replica turn it off). */
  notifications?: boolean;
}

/** The URL without user or password, for messages and logs. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

export class GitMirror {
  readonly #opts: GitMirrorOptions;
  readonly #env: Record<string, string>;
  #timer: NodeJS.Timeout | undefined;
  #lastAdvert: string | undefined;
  #fetching: Promise<void> | undefined;
  #running = false;
  #polling = false;
  /** A nudge came while a poll ran: poll again at once after it. */
  #again = false;
  readonly #stopping = new AbortController();
  /** Fetches done since start (for tests and metrics). */
  fetches = 0;
  /** Polls of the primary's refs ended since start, answered or not (for tests). */
  polls = 0;

  private constructor(opts: GitMirrorOptions) {
    this.#opts = opts;
    this.#env = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };
    if (opts.token) {
      Object.assign(this.#env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${this.#basic()}` });
    }
  }

  /** The primary's URL as given. */
  get url(): string {
    return this.#opts.url;
  }

  #basic(): string {
    return Buffer.from(`nft-sync:${this.#opts.token ?? ''}`).toString('base64');
  }

  /**
   * Make the mirror up to date with the primary: clone it when `gitdir` is absent or empty,
   * else point it at `url` and fetch. Errors: NFTSYNC_ERR_AUTH_REQUIRED (the primary wants a
   * token), NFTSYNC_ERR_REPO_GIT_FAILED (the primary unreachable, or git failed; the message has
   * git's words).
   */
  static async open(opts: GitMirrorOptions): Promise<GitMirror> {
    const m = new GitMirror(opts);
    // The refs as they are before this fetch: the first poll fetches again only if they moved.
    m.#lastAdvert = await m.#advertisement(SERVER_DEFAULTS.replica.openTimeoutMs).catch(() => undefined);
    const fresh = !existsSync(opts.gitdir) || readdirSync(opts.gitdir).length === 0;
    if (fresh) await m.#git(['clone', '--mirror', '-q', opts.url, opts.gitdir]);
    else {
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.url', opts.url]);
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.mirror', 'true']);
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.fetch', '+refs/*:refs/*']);
      await m.fetch();
    }
    return m;
  }

  /**
   * Start following the primary: hold a long poll of its `GET /api/v1/refs/changes` (answered
   * when a branch or tag moves there: the primary tells the replica of each push), and poll its
   * refs every pollMs besides (a primary without that route, or a notification lost).
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#tick();
    if (this.#opts.notifications !== false) void this.#listen();
  }

  /** The long poll: nudge on every version the primary answers, until stopped. */
  async #listen(): Promise<void> {
    const base = new URL('/api/v1/refs/changes', displayUrl(this.#opts.url));
    let since: string | undefined;
    while (this.#running) {
      try {
        const url = new URL(base);
        if (since !== undefined) url.search = `since=${encodeURIComponent(since)}&wait=20`;
        const res = await fetch(url, { headers: this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {}, signal: AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(25_000)]) });
        if (!res.ok) throw new Error(`GET /api/v1/refs/changes answered ${res.status}`);
        const { version } = (await res.json()) as { version: string };
        if (since !== undefined && version !== since) this.nudge();
        since = version;
      } catch {
        // An older primary, or one away: the poll of info/refs carries on; ask again later.
        if (this.#running) await new Promise((r) => setTimeout(r, SERVER_DEFAULTS.replica.openTimeoutMs).unref());
      }
    }
  }

  /**
   * Ask the primary now rather than at the next poll (an agent reported a commit the mirror does
   * not have: the primary moved and this replica has not heard yet). A poll in flight covers it.
   */
  nudge(): void {
    if (!this.#running) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    void this.#tick();
  }

  async #tick(): Promise<void> {
    const pollMs = this.#opts.pollMs ?? SERVER_DEFAULTS.replica.pollMs;
    this.#polling = true;
    try {
      const advert = await this.#advertisement(Math.max(pollMs * 4, SERVER_DEFAULTS.replica.openTimeoutMs));
      if (advert !== this.#lastAdvert && this.#running) {
        await this.fetch();
        this.#lastAdvert = advert;
      }
    } catch (err) {
      this.#opts.logger.warn({ err: (err as Error).message, primary: displayUrl(this.#opts.url) }, 'replica: cannot reach the primary; serving the mirror as it is');
    } finally {
      this.#polling = false;
      this.polls += 1;
    }
    const again = this.#again;
    this.#again = false;
    if (this.#running) this.#timer = setTimeout(() => void this.#tick(), again ? 0 : pollMs);
  }

  /** Stop polling; resolves once a fetch in flight has ended (it is not interrupted). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping.abort();
    clearTimeout(this.#timer);
    await this.#fetching?.catch(() => {});
  }

  /** Fetch from the primary now (one at a time). Errors as `open`. */
  async fetch(): Promise<void> {
    while (this.#fetching) await this.#fetching.catch(() => {});
    this.#fetching = this.#git(['--git-dir', this.#opts.gitdir, 'fetch', '-q', '--prune', 'origin']).then(() => {
      this.fetches += 1;
    });
    try {
      await this.#fetching;
    } finally {
      this.#fetching = undefined;
    }
  }

  /** The primary's ref advertisement for upload-pack (its refs and their commits). */
  async #advertisement(timeoutMs: number): Promise<string> {
    const url = `${this.#opts.url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`;
    const headers: Record<string, string> = {};
    if (this.#opts.token) headers.authorization = `Basic ${this.#basic()}`;
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (!res.ok) throw new Error(`GET info/refs answered ${res.status}: ${body.slice(0, 200)}`);
    return body;
  }

  async #git(args: string[]): Promise<void> {
    try {
      await runGit(args, { env: this.#env, allowConfig: MIRROR_CONFIG_KEYS });
    } catch (cause) {
      const message = (cause as Error).message;
      const at = displayUrl(this.#opts.url);
      if (/\b401\b|Authentication failed|could not read (Username|Password)|terminal prompts disabled/i.test(message)) {
        throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', `the primary ${at} needs a token to be mirrored: set NFT_SYNC_TOKEN or --mirror-token-file`, { cause });
      }
      throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `mirroring ${at}: ${message.split('\n').filter(Boolean).pop() ?? message}`, { cause });
    }
  }
}
