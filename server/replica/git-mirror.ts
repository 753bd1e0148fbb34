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
 *
 * What answers at the primary's address is not trusted to behave (docs/security.md): answers
 * are read up to a bound (a long-poll answer is a version of a few bytes), the long poll and the
 * polls agents ask for are paced (one every `SERVER_DEFAULTS.replica.minPollGapMs` at most, however
 * fast the answers come or however many agents report a commit it lacks), no redirect is followed
 * (by fetch or by git: the replica talks to `--mirror-of` only and its token goes nowhere else),
 * and a git clone or fetch is stopped after `fetchTimeoutMs` (and at `stop()`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { NftSyncError } from '../../shared/errors.js';
import { runGit } from '../../host/run-git.js';
import { SERVER_DEFAULTS } from '../defaults.js';
import { readBounded } from './read-bounded.js';

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
  /** Stop a git clone or fetch after this many ms (default SERVER_DEFAULTS.replica.fetchTimeoutMs). */
  fetchTimeoutMs?: number;
}

/** Longest long-poll answer read: `{"version":"…"}` is a few dozen bytes. */
const MAX_CHANGES_BYTES = 4096;
/** Longest ref advertisement read (about 60 bytes a ref: some 500,000 refs). */
const MAX_ADVERT_BYTES = 32 * 1024 * 1024;

/** A redirect the replica refused to follow. */
class RedirectRefused extends Error {}

/** A redirect is refused: the replica talks to --mirror-of itself only, and sends its token nowhere else. */
function refuseRedirect(res: Response, what: string): void {
  if (res.status >= 300 && res.status < 400) {
    void res.body?.cancel().catch(() => {});
    throw new RedirectRefused(`${what} answered a redirect (${res.status} to ${res.headers.get('location') ?? '?'}): a replica follows no redirect; give --mirror-of the final URL`);
  }
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
  /** When #timer fires (ms since the epoch). */
  #timerAt = 0;
  /** When the last poll started (ms since the epoch). */
  #lastPollAt = 0;
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
  /**
   * When the mirror was last known to hold the primary's refs (ms since the epoch): a poll whose
   * advertisement matched the mirror's, or after which the fetch succeeded. For /readyz and /metrics.
   */
  syncedAt: number | undefined;
  /** Whether the last poll of the primary was answered (and its fetch, if any, succeeded). */
  primaryReachable = false;

  private constructor(opts: GitMirrorOptions) {
    this.#opts = opts;
    this.#env = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };
    // No redirect, not even git's default "initial" one: it would move every later request
    // (with the token header) to wherever the first answer points.
    const config: [string, string][] = [['http.followRedirects', 'false']];
    // Killing git at the time limit leaves its remote helper (git-remote-http) waiting on the
    // socket: curl itself gives up on a transfer slower than 1 byte/s for this long.
    const stallS = Math.min(30, Math.max(1, Math.ceil((opts.fetchTimeoutMs ?? SERVER_DEFAULTS.replica.fetchTimeoutMs) / 1000)));
    config.push(['http.lowSpeedLimit', '1'], ['http.lowSpeedTime', String(stallS)]);
    if (opts.token) config.push(['http.extraHeader', `Authorization: Basic ${this.#basic()}`]);
    this.#env.GIT_CONFIG_COUNT = String(config.length);
    for (const [i, [key, value]] of config.entries()) Object.assign(this.#env, { [`GIT_CONFIG_KEY_${i}`]: key, [`GIT_CONFIG_VALUE_${i}`]: value });
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
    m.#lastAdvert = await m.#advertisement(SERVER_DEFAULTS.replica.openTimeoutMs).catch((err: unknown) => {
      if (err instanceof RedirectRefused) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `mirroring ${displayUrl(opts.url)}: ${err.message}`);
      return undefined;
    });
    const fresh = !existsSync(opts.gitdir) || readdirSync(opts.gitdir).length === 0;
    const t0 = Date.now();
    if (fresh) await m.#git(['clone', '--mirror', '-q', opts.url, opts.gitdir]);
    else {
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.url', opts.url]);
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.mirror', 'true']);
      await m.#git(['--git-dir', opts.gitdir, 'config', 'remote.origin.fetch', '+refs/*:refs/*']);
      await m.fetch();
    }
    m.syncedAt = t0;
    m.primaryReachable = true;
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
    this.#schedule(0);
    if (this.#opts.notifications !== false) void this.#listen();
  }

  /**
   * The long poll: nudge on every version the primary answers, until stopped. A request starts
   * at most every minPollGapMs, however fast (or however badly) the primary answers.
   */
  async #listen(): Promise<void> {
    const base = new URL('/api/v1/refs/changes', displayUrl(this.#opts.url));
    const gap = SERVER_DEFAULTS.replica.minPollGapMs;
    let since: string | undefined;
    while (this.#running) {
      const started = Date.now();
      try {
        const url = new URL(base);
        if (since !== undefined) url.search = `since=${encodeURIComponent(since)}&wait=20`;
        const res = await fetch(url, { redirect: 'manual', headers: this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {}, signal: AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(25_000)]) });
        refuseRedirect(res, 'GET /api/v1/refs/changes');
        if (!res.ok) {
          void res.body?.cancel().catch(() => {});
          throw new Error(`GET /api/v1/refs/changes answered ${res.status}`);
        }
        const chunks: Uint8Array[] = [];
        await readBounded(res, MAX_CHANGES_BYTES, (c) => chunks.push(c));
        const { version } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown };
        if (typeof version !== 'string') throw new Error('GET /api/v1/refs/changes answered no version');
        if (since !== undefined && version !== since) this.nudge();
        since = version;
        const left = started + gap - Date.now();
        if (left > 0 && this.#running) await new Promise((r) => setTimeout(r, left).unref());
      } catch {
        // An older primary, or one away: the poll of info/refs carries on; ask again later.
        if (this.#running) await new Promise((r) => setTimeout(r, SERVER_DEFAULTS.replica.openTimeoutMs).unref());
      }
    }
  }

  /**
   * Ask the primary soon rather than at the next poll (an agent reported a commit the mirror
   * does not have: the primary moved and this replica has not heard yet). A poll in flight
   * covers it; polls start at most every minPollGapMs, so agents reporting commits the mirror
   * lacks (real or made up) cannot make it ask the primary faster than that.
   */
  nudge(): void {
    if (!this.#running) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  /** Poll in `ms`, or as soon after the last poll started as the gap allows; an earlier poll already set stays. */
  #schedule(ms: number): void {
    const at = Math.max(Date.now() + ms, this.#lastPollAt + SERVER_DEFAULTS.replica.minPollGapMs);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, at - Date.now());
  }

  async #tick(): Promise<void> {
    const pollMs = this.#opts.pollMs ?? SERVER_DEFAULTS.replica.pollMs;
    this.#polling = true;
    const started = Date.now();
    this.#lastPollAt = started;
    try {
      const advert = await this.#advertisement(Math.max(pollMs * 4, SERVER_DEFAULTS.replica.openTimeoutMs));
      if (advert !== this.#lastAdvert && this.#running) {
        await this.fetch();
        this.#lastAdvert = advert;
      }
      // The refs as the primary had them when the poll started are in the mirror.
      this.syncedAt = started;
      this.primaryReachable = true;
    } catch (err) {
      this.primaryReachable = false;
      this.#opts.logger.warn({ err: (err as Error).message, primary: displayUrl(this.#opts.url) }, 'replica: cannot reach the primary; serving the mirror as it is');
    } finally {
      this.#polling = false;
      this.polls += 1;
    }
    const again = this.#again;
    this.#again = false;
    if (this.#running) this.#schedule(again ? 0 : pollMs);
  }

  /** Stop polling; resolves once a fetch in flight has ended (it is stopped: its git is ended). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping.abort(new Error('the replica is stopping'));
    clearTimeout(this.#timer);
    this.#timer = undefined;
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

  /**
   * The primary's ref advertisement for upload-pack (its refs and their commits), as a digest:
   * only whether it changed matters. Errors: plain Errors (a redirect, a longer answer than
   * MAX_ADVERT_BYTES, a status other than 200, the time limit).
   */
  async #advertisement(timeoutMs: number): Promise<string> {
    const url = `${this.#opts.url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`;
    const headers: Record<string, string> = {};
    if (this.#opts.token) headers.authorization = `Basic ${this.#basic()}`;
    const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(timeoutMs)]) });
    refuseRedirect(res, 'GET info/refs');
    if (!res.ok) {
      const head: Uint8Array[] = [];
      await readBounded(res, 4096, (c) => head.push(c)).catch(() => {});
      throw new Error(`GET info/refs answered ${res.status}: ${Buffer.concat(head).toString('utf8').slice(0, 200)}`);
    }
    const hash = createHash('sha256');
    await readBounded(res, MAX_ADVERT_BYTES, (c) => hash.update(c));
    return hash.digest('hex');
  }

  async #git(args: string[]): Promise<void> {
    const limit = this.#opts.fetchTimeoutMs ?? SERVER_DEFAULTS.replica.fetchTimeoutMs;
    const timeout = AbortSignal.timeout(limit);
    try {
      await runGit(args, { env: this.#env, allowConfig: MIRROR_CONFIG_KEYS, signal: AbortSignal.any([this.#stopping.signal, timeout]) });
    } catch (cause) {
      const at = displayUrl(this.#opts.url);
      if (timeout.aborted) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `mirroring ${at}: git ran longer than ${limit} ms: stopped (the primary stopped answering?)`, { cause });
      const message = (cause as Error).message;
      if (/returned error: 30\d/.test(message)) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `mirroring ${at}: the primary answered git with a redirect: a replica follows no redirect; give --mirror-of the final URL`, { cause });
      if (/\b401\b|Authentication failed|could not read (Username|Password)|terminal prompts disabled/i.test(message)) {
        throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', `the primary ${at} needs a token to be mirrored: set NFT_SYNC_TOKEN or --mirror-token-file`, { cause });
      }
      throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `mirroring ${at}: ${message.split('\n').filter(Boolean).pop() ?? message}`, { cause });
    }
  }
}
