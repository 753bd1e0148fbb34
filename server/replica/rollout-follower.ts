/**
 * Staged rollouts on a replica: the primary decides, the replica follows.
 *
 * The primary's rollout controller sees the whole fleet (its own agents and, through forwarded
 * reports, every replica's), so it alone moves waves on. A replica that ran rollouts of its own
 * would count only its own agents: with no canary among them its first wave would be empty, and
 * its agents would get a revision before the canaries confirmed it. So a replica asks the primary
 * for its rollouts (GET /api/v1/rollouts, with the mirror's token) every `pollMs`, at once when its
 * mirror moves, and before serving a tip that declares a rollout the primary's rollouts do not
 * know yet (never for a tip that declares none: a slow primary does not hold those); it serves each
 * agent what the primary's rollout says (shared/rollout/rollout-state.ts revisionFor).
 *
 * Fail-safe: a tip whose nft-sync.yaml declares a rollout for its ref (or cannot be read), and that
 * the primary's rollouts do not name yet (the primary not asked yet, or away), is not served:
 * agents get the last revision the primary's rollout completed (or its previous one), never a
 * revision ahead of the waves. With no rollout of the primary's for the ref at all, the tip is
 * served as is once an answer asked after the mirror's last move names none (the primary lists
 * only rollouts with waves: a ref's first tip, or a tip it rolls nothing out for, is served to
 * everyone there too); until then the fetch is refused (NFTSYNC_ERR_ROLLOUT_UNKNOWN, retried by
 * agents; those refused are told again once an answer comes). A tip with no rollout declared is
 * served to everyone, as on the primary.
 * The answer is read bounded (MAX_ANSWER_BYTES) and each rollout checked whole (savedRollouts,
 * and wave patterns within ROLLOUT_MAX_PATTERN_CHARS); an answer with any rollout refused is
 * refused whole, the rollouts known kept: a hostile or broken primary can hold agents back,
 * never send them to a revision the mirror does not hold (the wire session resolves what is
 * served from the mirror, as any revision).
 */
import type { Logger } from 'pino';
import { ROLLOUT_MAX_PATTERN_CHARS, ROLLOUT_TAGS_KEY, type RepoConfig } from '../../shared/config/repo-config.js';
import { NftSyncError } from '../../shared/errors.js';
import { revisionFor, savedRollouts, stableRevision, timeBeyondHolds, type Revision, type RolloutState } from '../../shared/rollout/rollout-state.js';
import { SERVER_DEFAULTS } from '../defaults.js';
import { readOnlyReplica } from '../git/git-http.js';
import { rolloutName, type RolloutView } from '../rollout/rollout-controller.js';

export interface RolloutFollowerOptions {
  /** The primary's HTTP base, e.g. `http://primary:7401/`. */
  primary: string;
  token?: string;
  /** The mirror's nft-sync.yaml at a commit (does the tip declare a rollout?). */
  repoConfig(commit: string): Promise<RepoConfig | undefined>;
  logger: Logger;
  /** Called when what some agents are served for rollout `name` may have changed. */
  onChange?(name: string): void;
  /** Ask the primary this often (default SERVER_DEFAULTS.replica.rolloutPollMs). */
  pollMs?: number;
  now?: () => number;
}

/** Largest answer read from the primary (a rollout of 10,000 agents is about 300 KB). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const TRACK_PREFIX = 'track:';
/** Fetches of a tip the primary's rollouts do not name ask the primary at most this often. */
const MIN_ASK_MS = 200;

export class RolloutFollower {
  readonly #opts: RolloutFollowerOptions;
  #states = new Map<string, RolloutState>();
  #timer: NodeJS.Timeout | undefined;
  #asking: Promise<void> | undefined;
  #stopped = false;
  /** Whether the last question reached the primary (logged once per change). */
  #reached: boolean | undefined;
  /** When the last question ended (ms): fetches of an unknown tip ask again at most every MIN_ASK_MS. */
  #askedAt = -Infinity;
  /** Moves of the mirror's refs seen (refsChanged): an answer asked before the last one may not know its tips. */
  #moves = 0;
  /** The moves seen when the question in flight was asked. */
  #askingAt = 0;
  /** The moves seen when the last answer received was asked; -1: none yet. */
  #answeredAt = -1;
  /** Rollout names a fetch was refused for (ROLLOUT_UNKNOWN): announced (onChange) once an answer settles them. */
  #refused = new Set<string>();

  constructor(opts: RolloutFollowerOptions) {
    this.#opts = opts;
  }

  /** Ask the primary now, then every pollMs. */
  async start(): Promise<void> {
    await this.refresh();
    const every = this.#opts.pollMs ?? SERVER_DEFAULTS.replica.rolloutPollMs;
    this.#timer = setInterval(() => void this.refresh(), every);
    this.#timer.unref();
  }

  /** Stop asking; waits for a question in flight. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#asking;
  }

  /**
   * Ask the primary for its rollouts (one question at a time: callers share the one in flight).
   * Never throws: a failure keeps the rollouts last known, and is logged when it starts and ends.
   */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    // The question in flight was asked before the mirror's last move: ask again once it is answered.
    if (this.#asking !== undefined && this.#askingAt < this.#moves) return this.#asking.then(() => this.refresh());
    this.#askingAt = this.#moves;
    this.#asking ??= this.#ask(this.#moves).finally(() => {
      this.#asking = undefined;
      this.#askedAt = (this.#opts.now ?? Date.now)();
    });
    return this.#asking;
  }

  /**
   * The mirror's refs moved: the primary has started any new rollout by now; ask (a question in
   * flight, asked before, is followed by another). `_refs`: the refs as read, unused here.
   */
  async refsChanged(_refs?: ReadonlyMap<string, string>): Promise<void> {
    this.#moves += 1;
    await this.refresh();
  }

  /**
   * The revision to serve `agent` for subscription key `key` whose ref resolves to `latest` on
   * this replica's mirror (the wire session's RolloutGate): as the primary's rollout says; see the
   * file's header for a tip the primary's rollouts do not know yet.
   */
  async revisionFor(agent: string | undefined, key: string, latest: Revision): Promise<Revision> {
    const name = rolloutName(key);
    const same = (s: RolloutState | undefined): s is RolloutState => s !== undefined && s.target.commit === latest.commit && s.target.tag === latest.tag;
    const known = this.#states.get(name);
    if (same(known)) return revisionFor(known, agent);
    // A config that cannot be read counts as declaring one: not knowing is no reason to serve the tip.
    let unread = false;
    const config = await this.#opts.repoConfig(latest.commit).catch(() => ((unread = true), undefined));
    const declared = unread || config?.rollouts?.[key.startsWith(TRACK_PREFIX) ? ROLLOUT_TAGS_KEY : name] !== undefined;
    // A tip that declares no rollout is served as is, without asking: a slow primary (up to
    // openTimeoutMs an answer) held every such fetch on the replica.
    if (!declared) return latest;
    if ((this.#opts.now ?? Date.now)() - this.#askedAt >= MIN_ASK_MS) await this.refresh();
    const state = this.#states.get(name);
    if (same(state)) return revisionFor(state, agent);
    if (state) return stableRevision(state);
    // No rollout of the primary's names this ref. The primary lists only rollouts with waves (not
    // a ref's first tip, nor tips without one), so an answer asked after the mirror's last move
    // means it rolls nothing out for this tip: served as is, as the primary serves it. Without
    // such an answer (the primary away since this replica started, or the answer in hand asked
    // before the move, when the primary may not have started the tip's rollout yet), nothing is
    // served until it answers: serving the tip sent it to every agent ahead of the canaries.
    if (this.#answeredAt >= this.#moves) return latest;
    this.#refused.add(name);
    throw new NftSyncError('NFTSYNC_ERR_ROLLOUT_UNKNOWN', `${latest.commit} declares a rollout for ${JSON.stringify(key)}, and this replica has not heard from the primary ${this.#opts.primary} which revision it serves; ask again later`, {
      data: { ref: key, commit: latest.commit, primary: this.#opts.primary },
    });
  }

  /** The primary's rollouts, as last heard (the API of a replica shows the fleet's). */
  list(): RolloutView[] {
    return [...this.#states.keys()].sort().map((n) => this.get(n));
  }

  /** One of the primary's rollouts. Throws NFTSYNC_ERR_ROLLOUT_NOT_FOUND. */
  get(name: string): RolloutView {
    const s = this.#states.get(name);
    if (!s) throw new NftSyncError('NFTSYNC_ERR_ROLLOUT_NOT_FOUND', `no rollout for ${JSON.stringify(name)} on the primary ${this.#opts.primary}`, { data: { rollout: name } });
    return { ...s, beyondHoldMs: timeBeyondHolds(s, (this.#opts.now ?? Date.now)()) };
  }

  /** A replica moves no rollout: NFTSYNC_ERR_READ_ONLY_REPLICA, naming the primary. */
  resume(_name: string): RolloutView {
    throw readOnlyReplica(this.#opts.primary);
  }

  /** A replica moves no rollout: NFTSYNC_ERR_READ_ONLY_REPLICA, naming the primary. */
  abort(_name: string): RolloutView {
    throw readOnlyReplica(this.#opts.primary);
  }

  async #ask(movesAsked: number): Promise<void> {
    let states: RolloutState[];
    try {
      states = await this.#fetch();
    } catch (err) {
      if (this.#reached !== false) this.#opts.logger.warn({ err: (err as Error).message, primary: this.#opts.primary }, 'replica: cannot ask the primary for its rollouts; agents keep what they are served');
      this.#reached = false;
      return;
    }
    if (this.#reached === false) this.#opts.logger.info({ primary: this.#opts.primary }, 'replica: the primary answers for its rollouts again');
    this.#reached = true;
    const next = new Map(states.map((s) => [s.name, s]));
    const changed = new Set<string>();
    for (const [name, s] of next) {
      const old = this.#states.get(name);
      if (!old || old.phase !== s.phase || old.wave !== s.wave || old.target.commit !== s.target.commit || old.target.tag !== s.target.tag || old.previous.commit !== s.previous.commit) changed.add(name);
    }
    for (const name of this.#states.keys()) if (!next.has(name)) changed.add(name);
    this.#states = next;
    this.#answeredAt = Math.max(this.#answeredAt, movesAsked);
    // Fetches refused for want of an answer may be served now: their agents are told again.
    if (this.#answeredAt >= this.#moves) {
      for (const name of this.#refused) changed.add(name);
      this.#refused.clear();
    }
    for (const name of changed) this.#opts.onChange?.(name);
  }

  async #fetch(): Promise<RolloutState[]> {
    const res = await fetch(new URL('/api/v1/rollouts', this.#opts.primary), {
      headers: this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {},
      signal: AbortSignal.timeout(SERVER_DEFAULTS.replica.openTimeoutMs),
      redirect: 'error',
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET /api/v1/rollouts answered ${res.status}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > MAX_ANSWER_BYTES) throw new Error(`the primary's rollouts answer passes ${MAX_ANSWER_BYTES} bytes`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    // An answer without a list of rollouts (`{"rollouts": null}`, `{}`) is a broken answer, not
    // "no rollouts": taken as none, it dropped every rollout and its tips went to all agents.
    if (typeof value !== 'object' || value === null || !Array.isArray((value as { rollouts?: unknown }).rollouts)) throw new Error('the primary\'s rollouts answer holds no list of rollouts');
    const rollouts = (value as { rollouts: unknown[] }).rollouts;
    // Before the globs are compiled: a primary's 8 MiB of wave patterns cost each agent's fetch
    // a quarter of a second of the event loop. A primary's own config never has more.
    const long = rollouts.map(patternChars).findIndex((n) => n > ROLLOUT_MAX_PATTERN_CHARS);
    if (long >= 0) throw new Error(`the primary's rollout #${long} has ${patternChars(rollouts[long])} characters of wave patterns, more than ${ROLLOUT_MAX_PATTERN_CHARS}; its answer is refused whole`);
    const { states, refused } = savedRollouts(value);
    // Refused whole, the rollouts known kept: a rollout left out would be "not running", and
    // its declared tip would go to every agent ahead of the waves.
    if (refused.length > 0) throw new Error(`the primary's rollouts answer holds ${refused.length} malformed rollout(s) (${refused.slice(0, 3).join('; ')}); it is refused whole`);
    return states;
  }
}

/** Characters of wave patterns in all of one rollout as the primary sent it (0 where malformed). */
function patternChars(rollout: unknown): number {
  const waves = (rollout as { waves?: unknown } | null)?.waves;
  if (!Array.isArray(waves)) return 0;
  let n = 0;
  for (const w of waves) {
    const patterns = (w as { patterns?: unknown } | null)?.patterns;
    if (Array.isArray(patterns)) for (const p of patterns) n += typeof p === 'string' ? p.length : 0;
  }
  return n;
}
