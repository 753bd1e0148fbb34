/**
 * Staged rollouts on the server: keeps one rollout per branch (and per tracked tag pattern) whose
 * `nft-sync.yaml` declares `rollouts:`, answers which revision each agent is served
 * (revisionFor, consulted by the wire sessions where a fetch resolves a ref and where `moved` is
 * sent), moves rollouts on from the agents' reports, and tells the wire server when some agents
 * must hear of another revision. The wave logic itself is pure: shared/rollout/rollout-state.ts.
 *
 * Which config: the `rollouts:` of the `nft-sync.yaml` at the new tip (the one the push check
 * validated). A tip whose file has no rollout for its branch is served to all at once, and
 * becomes the revision the next rollout falls back to.
 *
 * Persistence: the rollouts are kept in GIT_DIR/nft-sync/rollouts.json, replaced atomically
 * (written to a temporary file, then renamed) at each change, and read at start; a server
 * restarted mid-rollout goes on where it was (an agent counts again once it has reconnected).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SERVER_DEFAULTS } from '../defaults.js';
import { ROLLOUT_TAGS_KEY, type RepoConfig } from '../../shared/config/repo-config.js';
import { NftSyncError } from '../../shared/errors.js';
import {
  abortRollout,
  observe,
  resumeRollout,
  revisionFor,
  savedRollouts,
  stableRevision,
  startRollout,
  timeBeyondHolds,
  type AgentView,
  type Revision,
  type RolloutState,
} from '../../shared/rollout/rollout-state.js';

/** What the controller needs from the repository. */
export interface RolloutSource {
  gitdir: string;
  listRefs(): Promise<Map<string, string>>;
  resolveTrackedTag(pattern: string): Promise<{ tag: string; commit: string }>;
  repoConfig(commit: string): Promise<RepoConfig | undefined>;
}

export interface RolloutControllerOptions {
  source: RolloutSource;
  /** The agents known now, with their latest reports (the agent registry). */
  agents(): AgentView[];
  logger: Logger;
  /** Called after a change in who is served what for rollout `name` (a wave served, abort). */
  onChange?(name: string): void;
  /** How often running rollouts look at the reports (default SERVER_DEFAULTS.rollouts.tickMs). */
  tickMs?: number;
  now?: () => number;
}

/** A rollout as the API shows it. */
export interface RolloutView extends RolloutState {
  /** Milliseconds beyond the hold times so far (or in all, once ended). */
  beyondHoldMs: number;
}

const TRACK_PREFIX = 'track:';
const STATE_FILE = 'rollouts.json';
/** Delay of the look at the reports after a report (poke). */
const POKE_MS = SERVER_DEFAULTS.rollouts.pokeMs;

/** The rollout name of a wire subscription key (a ref as spelled, or `track:PATTERN`). */
export function rolloutName(key: string): string {
  if (key.startsWith(TRACK_PREFIX)) return `${ROLLOUT_TAGS_KEY}:${key.slice(TRACK_PREFIX.length)}`;
  return key.startsWith('refs/heads/') ? key.slice('refs/heads/'.length) : key;
}

export class RolloutController {
  readonly #opts: RolloutControllerOptions;
  readonly #now: () => number;
  readonly #file: string;
  readonly #states = new Map<string, RolloutState>();
  /** Branch tips last seen (short name -> commit). */
  #tips = new Map<string, string>();
  /** Per rollout name: the update in progress, so one new tip starts one rollout. */
  readonly #busy = new Map<string, Promise<void>>();
  /** The refsChanged in progress: calls run one after another, so an older snapshot never lands after a newer one. */
  #refsQueue: Promise<void> = Promise.resolve();
  /**
   * Per branch: the tip a fetch found ahead of the ref scans and started a rollout to, until a
   * scan gives it too. A scan read before (queued behind a slow one) gives an older tip: it is
   * checked against the refs before it starts anything (it would start a rollout backwards).
   */
  readonly #ahead = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  /** Fires when the next hold ends, so a wave moves on then rather than at the next tick. */
  #due: { at: number; timer: NodeJS.Timeout } | undefined;
  #saving: Promise<void> = Promise.resolve();
  #closed = false;
  #poked: NodeJS.Timeout | undefined;

  constructor(opts: RolloutControllerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#file = join(opts.source.gitdir, 'nft-sync', STATE_FILE);
  }

  /** Read the saved rollouts and the branch tips; start watching reports. */
  async start(): Promise<void> {
    try {
      // Each saved rollout is checked whole: a damaged one would throw in every tick and fetch.
      const { states, refused } = savedRollouts(JSON.parse(await readFile(this.#file, 'utf8')));
      for (const s of states) this.#states.set(s.name, s);
      if (refused.length > 0) {
        this.#opts.logger.warn({ code: 'NFTSYNC_ERR_ROLLOUT_STATE_FILE', refused: refused.slice(0, 20), file: this.#file }, `rollout state: ${refused.length} damaged rollout(s) left out (their branches start afresh)`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#opts.logger.warn({ code: 'NFTSYNC_ERR_ROLLOUT_STATE_FILE', err: (err as Error).message, file: this.#file }, 'rollout state unreadable: starting without it');
    }
    this.#tips = await this.#branchTips();
    // A tip pushed while the server was down starts its rollout now (waves from the saved fleet).
    for (const [branch, commit] of this.#tips) await this.#update(branch, { commit }, false);
    this.#timer = setInterval(() => this.tick(), this.#opts.tickMs ?? SERVER_DEFAULTS.rollouts.tickMs);
    this.#timer.unref();
  }

  /** Stop watching; wait for the last save. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#due?.timer);
    this.#due = undefined;
    clearTimeout(this.#poked);
    await this.#saving;
  }

  /**
   * The revision to serve `agent` (undefined: a connection that named no agent) for wire
   * subscription key `key`, whose ref resolves to `latest` now. `latest` itself unless a rollout
   * governs the ref and the agent's wave has not been served it yet. A `latest` the controller
   * has not seen (a fetch racing the ref watcher) starts its rollout first.
   */
  /**
   * Whether a rollout may hold agents following `key` back (RolloutGate.governs): a tracked
   * pattern, a branch not seen yet or being updated, or one whose last update found a rollout in
   * nft-sync.yaml (its state has waves). A branch whose last update found none is served its tip
   * at once (#apply records it complete, without waves), until a commit changes nft-sync.yaml.
   * Reads nothing. Never throws.
   */
  governs(key: string): boolean {
    const name = rolloutName(key);
    if (key.startsWith(TRACK_PREFIX) || this.#busy.has(name)) return true;
    const state = this.#states.get(name);
    return state === undefined || state.waves.length > 0;
  }

  async revisionFor(agent: string | undefined, key: string, latest: Revision): Promise<Revision> {
    const name = rolloutName(key);
    const tracked = key.startsWith(TRACK_PREFIX);
    if (!tracked && !this.#states.has(name) && !this.#tips.has(name)) return latest;
    let state = this.#states.get(name);
    if (!state || state.target.commit !== latest.commit || state.target.tag !== latest.tag) {
      await this.#update(name, latest, tracked);
      state = this.#states.get(name);
    }
    if (!state || state.target.commit !== latest.commit || state.target.tag !== latest.tag) return latest;
    return revisionFor(state, agent);
  }

  /**
   * The repository's refs changed: start rollouts for branches and tracked patterns with a new
   * tip. `refs`: every branch and tag (full name -> commit, as listRefs gives them) as the caller
   * has just read them (the server's ref watcher, whose scan reported the change), so they are
   * not read again; without them, they are read.
   */
  refsChanged(refs?: ReadonlyMap<string, string>): Promise<void> {
    const run = this.#refsQueue.then(() => this.#refsChangedNow(refs));
    this.#refsQueue = run.catch(() => {});
    return run;
  }

  async #refsChangedNow(refs?: ReadonlyMap<string, string>): Promise<void> {
    // Queued before the close: nothing starts after it (a server started again in the same
    // process would find the state file written by this one).
    if (this.#closed) return;
    this.#tips = refs ? branchTipsOf(refs) : await this.#branchTips();
    // The scan's own tips (a fetch may move #tips on meanwhile).
    for (const [branch, commit] of [...this.#tips]) {
      // The scans have caught up with the fetch: theirs are no longer older than the rollout's.
      if (this.#ahead.get(branch) === commit) this.#ahead.delete(branch);
      await this.#update(branch, { commit }, false);
    }
    for (const name of [...this.#states.keys()]) {
      if (!name.startsWith(`${ROLLOUT_TAGS_KEY}:`)) continue;
      const latest = await this.#opts.source.resolveTrackedTag(name.slice(ROLLOUT_TAGS_KEY.length + 1)).catch(() => undefined);
      if (latest) await this.#update(name, latest, true);
    }
  }

  /**
   * A report arrived: look at the reports soon. Reports of a whole wave come in a burst, and
   * each look reads every agent's record, so a burst costs one look per POKE_MS, not one each.
   */
  poke(): void {
    if (this.#poked || this.#closed) return;
    this.#poked = setTimeout(() => {
      this.#poked = undefined;
      this.tick();
    }, POKE_MS);
    this.#poked.unref();
  }

  /** Look at the reports now: move running rollouts on (called on a timer, and soon after reports). */
  tick(): void {
    let agents: AgentView[] | undefined;
    for (const [name, state] of this.#states) {
      if (state.phase !== 'running') continue;
      agents ??= this.#opts.agents();
      const next = observe(state, agents, this.#now());
      if (next === state) continue;
      this.#set(next);
      if (next.phase === 'halted') this.#opts.logger.warn({ rollout: name, ...next.haltedBy }, 'rollout halted');
      else if (next.phase === 'complete') this.#opts.logger.info({ rollout: name, commit: next.target.commit, beyondHoldMs: timeBeyondHolds(next, this.#now()) }, 'rollout complete');
      if (next.wave !== state.wave) {
        if (next.phase === 'running') this.#opts.logger.info({ rollout: name, wave: next.wave, agents: next.waves[next.wave]?.agents.length }, 'rollout: next wave served');
        this.#opts.onChange?.(name);
      }
    }
    this.#scheduleDue();
  }

  /** Set a timer for the earliest hold still running (ticks every tickMs anyway). */
  #scheduleDue(): void {
    const now = this.#now();
    let next = Infinity;
    for (const s of this.#states.values()) {
      if (s.phase !== 'running') continue;
      for (const at of Object.values(s.appliedAt)) {
        const due = at + s.hold * 1000;
        if (due > now && due < next) next = due;
      }
    }
    if (this.#closed || next === Infinity || (this.#due && this.#due.at <= next && this.#due.at > now)) return;
    clearTimeout(this.#due?.timer);
    const timer = setTimeout(() => {
      this.#due = undefined;
      this.tick();
    }, next - now);
    timer.unref();
    this.#due = { at: next, timer };
  }

  /** Every rollout, by name (a ref's first revision seen, which has no waves, is not one). */
  list(): RolloutView[] {
    return [...this.#states.values()].filter((s) => s.waves.length > 0).map((s) => s.name).sort().map((n) => this.get(n));
  }

  /** One rollout. Throws NFTSYNC_ERR_ROLLOUT_NOT_FOUND (also for a ref whose tip had no rollout). */
  get(name: string): RolloutView {
    const s = this.#rollout(name);
    return { ...s, beyondHoldMs: timeBeyondHolds(s, this.#now()) };
  }

  /** The rollout `name`, one with waves; else ROLLOUT_NOT_FOUND. */
  #rollout(name: string): RolloutState {
    const s = this.#states.get(name);
    if (!s || s.waves.length === 0) throw notFound(name);
    return s;
  }

  /** Resume rollout `name` with its next wave (rollout-state.ts). Throws ROLLOUT_NOT_FOUND or ROLLOUT_STATE. */
  resume(name: string): RolloutView {
    const s = this.#rollout(name);
    this.#set(resumeRollout(s, this.#now()));
    this.#opts.onChange?.(name);
    this.tick();
    return this.get(name);
  }

  /** Abort rollout `name`: everyone is served its previous revision. Throws ROLLOUT_NOT_FOUND or ROLLOUT_STATE. */
  abort(name: string): RolloutView {
    const s = this.#rollout(name);
    this.#set(abortRollout(s, this.#now()));
    this.#opts.onChange?.(name);
    return this.get(name);
  }

  /** Serialised per name: the first caller to see a new tip starts its rollout. */
  #update(name: string, latest: Revision, tracked: boolean): Promise<void> {
    const prior = this.#busy.get(name) ?? Promise.resolve();
    const run = prior.then(() => this.#apply(name, latest, tracked));
    const kept = run.catch((err: unknown) => this.#opts.logger.warn({ rollout: name, err: (err as Error).message }, 'rollout not updated'));
    this.#busy.set(name, kept);
    void kept.then(() => {
      if (this.#busy.get(name) === kept) this.#busy.delete(name);
    });
    return kept;
  }

  async #apply(name: string, latest: Revision, tracked: boolean): Promise<void> {
    if (this.#closed) return;
    const state = this.#states.get(name);
    if (state && state.target.commit === latest.commit && state.target.tag === latest.tag) return;
    if (state && !tracked && (this.#tips.get(name) !== latest.commit || this.#ahead.get(name) === state.target.commit)) {
      // A fetch's revision that the last ref scan did not give: it may be ahead of the scan, or it
      // may have been resolved before a move the controller has already followed. Or a scan's,
      // when a fetch went ahead of the scans: the scan may have been read before the fetch. Only
      // the branch's tip now is rolled out; an older one would start a rollout backwards.
      const tip = (await this.#branchTips()).get(name);
      if (tip !== latest.commit) return;
      this.#tips.set(name, tip);
      this.#ahead.set(name, tip);
    }
    if (state && tracked) {
      // Likewise for a tracked pattern: a fetch that resolved it before a release was pushed asks
      // after the ref scan started that release's rollout. Only the pattern's release now is rolled
      // out (an older one would stay the target until the next release).
      const now = await this.#opts.source.resolveTrackedTag(name.slice(ROLLOUT_TAGS_KEY.length + 1)).catch(() => undefined);
      if (now?.commit !== latest.commit || now.tag !== latest.tag) return;
    }
    if (!state) {
      // The first revision seen of a ref is its baseline: nothing to roll out from.
      await this.#baseline(name, latest);
      return;
    }
    const config = await this.#opts.source.repoConfig(latest.commit).catch(() => undefined);
    if (this.#closed) return;
    const spec = config?.rollouts?.[tracked ? ROLLOUT_TAGS_KEY : name];
    // The rollout as it is now, not as read before the awaits: a look at the reports (tick), a
    // resume or an abort may have moved it meanwhile. A rollout that completed then is the new
    // one's fallback; the copy read before still said running, and sent later waves back to
    // the revision before it.
    const current = this.#states.get(name) ?? state;
    const previous = stableRevision(current);
    const now = this.#now();
    if (!spec) {
      this.#set({ name, previous, target: latest, hold: 0, waves: [], wave: 0, phase: 'complete', startedAt: now, endedAt: now, appliedAt: {} });
      return;
    }
    // The fleet: agents known now, and those of this ref's last rollout (a restarted server knows
    // few agents until they reconnect; they must not all land in "after completion").
    const known = [...this.#opts.agents().map((a) => a.name), ...current.waves.flatMap((w) => w.agents)];
    const next = startRollout({ name, spec, previous, target: latest, known, now });
    this.#set(next);
    this.#opts.logger.info({ rollout: name, from: previous.commit, to: latest.commit, waves: next.waves.map((w) => w.agents.length) }, 'rollout started');
    // Agents of the first wave hear of it at once (the hub tells the rest nothing new).
    this.#opts.onChange?.(name);
    this.tick();
  }

  async #baseline(name: string, rev: Revision): Promise<void> {
    const now = this.#now();
    this.#set({ name, previous: rev, target: rev, hold: 0, waves: [], wave: 0, phase: 'complete', startedAt: now, endedAt: now, appliedAt: {} });
  }

  async #branchTips(): Promise<Map<string, string>> {
    return branchTipsOf(await this.#opts.source.listRefs());
  }

  #set(state: RolloutState): void {
    if (this.#closed) return; // an update still in flight at the close changes nothing
    this.#states.set(state.name, state);
    this.#save();
  }

  /** Replace the state file atomically; saves are queued so the last state is the one kept. */
  #save(): void {
    const body = JSON.stringify({ version: 1, rollouts: [...this.#states.values()] });
    this.#saving = this.#saving.then(async () => {
      try {
        await mkdir(join(this.#opts.source.gitdir, 'nft-sync'), { recursive: true, mode: 0o700 });
        const tmp = `${this.#file}.${process.pid}.tmp`;
        await writeFile(tmp, body);
        await rename(tmp, this.#file);
      } catch (err) {
        this.#opts.logger.warn({ err: (err as Error).message, file: this.#file }, 'rollout state not saved');
      }
    });
  }
}

function notFound(name: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_ROLLOUT_NOT_FOUND', `no rollout for ${JSON.stringify(name)}: a branch gets one when its nft-sync.yaml declares rollouts for it and it has a new tip (tags: tags:PATTERN)`, {
    data: { rollout: name },
  });
}

/** Branch name -> commit, of the branches among `refs` (full names). */
function branchTipsOf(refs: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [ref, commit] of refs) if (ref.startsWith('refs/heads/')) out.set(ref.slice('refs/heads/'.length), commit);
  return out;
}
