/**
 * Staged rollouts, the pure part: which agents form each wave, which revision each agent is
 * served, and how a rollout moves on from the agents' status reports and the clock. No IO: the
 * server (server/rollout/rollout-controller.ts) feeds reports and time in and persists the state.
 *
 * A rollout takes one branch (or one tracked tag pattern) from `previous`, the last revision that
 * completed a rollout, to `target`, its new tip. Waves 0..`wave` are served `target`; everyone
 * else `previous`. The current wave is confirmed when each of its agents has reported Applied
 * for `target` (Ready) and is still Ready and connected `hold` seconds later; then the next wave
 * gets it. A wave agent reporting a failed attempt at `target` (Failed: RolledBack, ApplyFailed…)
 * halts the rollout: nobody else gets `target` until an operator resumes (the next wave goes on)
 * or aborts (everyone is served `previous` again; the branch itself is not moved).
 *
 * Membership is fixed when the rollout starts, from the agents known then, so it never shifts
 * under a running rollout: `agents:` waves take every known agent matching one of their globs
 * (the first such wave); the other agents are ordered by a stable hash of their name, and a
 * `percent: P` wave takes the first ceil(P% of them) not taken by an earlier wave. An agent that
 * first appears during the rollout joins the first `agents:` wave matching its name, else it
 * waits for the rollout to complete.
 */
import { compileAgentGlob, matchAgentGlob, type AgentGlob } from '../config/agent-glob.js';
import type { RolloutSpec } from '../config/repo-config.js';
import { NftSyncError } from '../errors.js';
import type { AgentStatus } from '../wire/messages.js';

/** A revision as served: a commit and, for a tracked tag pattern, the tag chosen. */
export interface Revision {
  commit: string;
  tag?: string;
}

export type RolloutPhase = 'running' | 'halted' | 'aborted' | 'complete';

export interface WaveState {
  /** Agent names in this wave, sorted (fixed at the rollout's start). */
  agents: string[];
  /** The wave's globs, for agents that appear later; none for a percent wave. */
  patterns?: string[];
  /** ms: when the wave was served `target`; when it was confirmed (or skipped by resume). */
  startedAt?: number;
  confirmedAt?: number;
}

export interface RolloutState {
  /** The branch, or `tags:PATTERN` for a tracked tag pattern. */
  name: string;
  previous: Revision;
  target: Revision;
  /** Seconds each agent must stay Ready after Applied. */
  hold: number;
  waves: WaveState[];
  /** Index of the last wave served `target` (waves.length once complete). */
  wave: number;
  phase: RolloutPhase;
  startedAt: number;
  /** ms, once complete or aborted. */
  endedAt?: number;
  /** ms at which each agent of the current wave was first seen Applied (and Ready) on `target`. */
  appliedAt: Record<string, number>;
  /** Why the rollout halted. */
  haltedBy?: { agent: string; reason: string; message?: string; at: number };
}

/** What the rollout needs to know of one agent. */
export interface AgentView {
  name: string;
  connected: boolean;
  status?: Pick<AgentStatus, 'state' | 'commit' | 'attemptedCommit' | 'conditions'>;
}

/** FNV-1a, 32 bits: a stable order of names that does not follow their spelling. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The agents of each wave of `spec`, given the agents known now (any order, duplicates ignored).
 * Pure and deterministic: the same names give the same waves. Expects a spec that
 * parseRepoConfig accepted.
 */
export function planWaves(spec: RolloutSpec, known: readonly string[]): string[][] {
  const names = [...new Set(known)].sort();
  const out: string[][] = spec.waves.map(() => []);
  const taken = new Set<string>();
  spec.waves.forEach((wave, i) => {
    if (!wave.agents) return;
    const globs = wave.agents.map(compileAgentGlob);
    for (const n of names) {
      if (!taken.has(n) && globs.some((g) => matchAgentGlob(g, n))) {
        out[i]!.push(n);
        taken.add(n);
      }
    }
  });
  const rest = names.filter((n) => !taken.has(n)).sort((a, b) => fnv1a(a) - fnv1a(b) || (a < b ? -1 : 1));
  let used = 0;
  spec.waves.forEach((wave, i) => {
    if (wave.percent === undefined) return;
    const upTo = Math.min(rest.length, Math.ceil((wave.percent * rest.length) / 100));
    out[i]!.push(...rest.slice(used, upTo));
    used = Math.max(used, upTo);
  });
  return out.map((w) => w.sort());
}

/**
 * A new rollout of `name` from `previous` to `target`, its first wave served at `now` (ms).
 * Waves with no agent are passed at once by the next observe().
 */
export function startRollout(args: { name: string; spec: RolloutSpec; previous: Revision; target: Revision; known: readonly string[]; now: number }): RolloutState {
  const { name, spec, previous, target, known, now } = args;
  const members = planWaves(spec, known);
  return {
    name,
    previous,
    target,
    hold: spec.hold ?? 0,
    waves: spec.waves.map((w, i) => ({ agents: members[i]!, ...(w.agents && { patterns: [...w.agents] }), ...(i === 0 && { startedAt: now }) })),
    wave: 0,
    phase: 'running',
    startedAt: now,
    appliedAt: {},
  };
}

/**
 * Per state: each fixed member's wave, each wave's compiled globs, and the wave found for each
 * other name (a memo; states are not edited after use, and observe() hands it to the states it
 * derives, whose waves keep the same members and patterns). Globs are matched once per name and
 * rollout, not at each look at the reports nor at each fetch.
 */
interface WaveIndex {
  fixed: Map<string, number>;
  globs: Array<AgentGlob[] | undefined>;
  matched: Map<string, number>;
}
const INDEX = new WeakMap<RolloutState, WaveIndex>();
/** Most names one rollout's memo keeps (twice the server's largest agent registry). */
const WAVE_MEMO_MAX = 20_000;

function indexOf(state: RolloutState): WaveIndex {
  let ix = INDEX.get(state);
  if (!ix) {
    const fixed = new Map<string, number>();
    state.waves.forEach((w, i) => {
      for (const a of w.agents) if (!fixed.has(a)) fixed.set(a, i);
    });
    ix = { fixed, globs: state.waves.map((w) => w.patterns?.map(compileAgentGlob)), matched: new Map() };
    INDEX.set(state, ix);
  }
  return ix;
}

/** How many names not fixed in a wave `state` has matched against its globs so far (the memo's size). */
export function globMatchesKept(state: RolloutState): number {
  return indexOf(state).matched.size;
}

/**
 * The wave `agent` belongs to: fixed membership, else the first glob wave matching; -1: none.
 * Constant time for a fixed member and for a name seen before; glob matching the first time.
 */
export function waveOf(state: RolloutState, agent: string): number {
  const ix = indexOf(state);
  const fixed = ix.fixed.get(agent);
  if (fixed !== undefined) return fixed;
  let w = ix.matched.get(agent);
  if (w === undefined) {
    w = ix.globs.findIndex((g) => g?.some((glob) => matchAgentGlob(glob, agent)) === true);
    // Bounded: names come from hellos too; past the registry's size the memo starts again.
    if (ix.matched.size >= WAVE_MEMO_MAX) ix.matched.clear();
    ix.matched.set(agent, w);
  }
  return w;
}

/**
 * The revision to serve `agent` (undefined: a connection that named no agent) while `state`
 * governs the ref: `target` for agents of the waves served so far, and for everyone once the
 * rollout completed; `previous` for everyone else, and for everyone after an abort.
 */
export function revisionFor(state: RolloutState, agent: string | undefined): Revision {
  if (state.phase === 'complete') return state.target;
  if (state.phase === 'aborted' || agent === undefined) return state.previous;
  const w = waveOf(state, agent);
  return w >= 0 && w <= state.wave ? state.target : state.previous;
}

/** Whether `status` says Ready (its Ready condition, or state Applied when it has none). */
function ready(status: NonNullable<AgentView['status']>): boolean {
  const cond = status.conditions.find((c) => c.type === 'Ready');
  return cond ? cond.status === 'True' : status.state === 'Applied';
}

/**
 * The state after looking at the agents' latest reports at time `now` (ms). A new object when
 * anything changed, else `state` itself. Only a running rollout moves: a failed attempt at
 * `target` in the waves served halts it; the current wave confirmed moves to the next (several
 * at once when they are empty or already confirmed); the last one confirmed completes it.
 */
export function observe(state: RolloutState, agents: readonly AgentView[], now: number): RolloutState {
  if (state.phase !== 'running') return state;
  const byName = new Map(agents.map((a) => [a.name, a]));
  let s = state;
  const edit = (): RolloutState => {
    if (s !== state) return s;
    s = { ...state, waves: state.waves.map((w) => ({ ...w })), appliedAt: { ...state.appliedAt } };
    INDEX.set(s, indexOf(state)); // same members and patterns: the same index and memo
    return s;
  };
  // A bounded loop: each pass moves to the next wave or stops.
  for (let pass = 0; pass <= state.waves.length && s.phase === 'running'; pass++) {
    const members = membersOf(s, s.wave, agents);
    let confirmed = 0;
    for (const name of members) {
      const view = byName.get(name);
      const st = view?.status;
      if (st && st.attemptedCommit === s.target.commit && st.state === 'Failed') {
        const cond = st.conditions.find((c) => c.type === 'Ready');
        const next = edit();
        next.phase = 'halted';
        next.haltedBy = { agent: name, reason: cond?.reason ?? 'Failed', ...(cond?.message !== undefined && { message: cond.message }), at: now };
        return next;
      }
      const applied = st !== undefined && st.commit === s.target.commit && st.state === 'Applied' && ready(st);
      if (!applied) {
        if (s.appliedAt[name] !== undefined) delete edit().appliedAt[name];
        continue;
      }
      if (s.appliedAt[name] === undefined) edit().appliedAt[name] = now;
      if (view!.connected && now - s.appliedAt[name]! >= s.hold * 1000) confirmed += 1;
    }
    if (confirmed < members.length) break;
    const next = edit();
    next.waves[next.wave]!.confirmedAt = now;
    advance(next, now);
  }
  return s;
}

/** Agents of wave `i`: its fixed members and the known agents that joined it by name since. */
function membersOf(state: RolloutState, i: number, agents: readonly AgentView[]): string[] {
  const wave = state.waves[i];
  if (!wave) return [];
  if (!wave.patterns) return wave.agents;
  const { fixed } = indexOf(state);
  const extra = agents.filter((a) => !fixed.has(a.name) && waveOf(state, a.name) === i).map((a) => a.name);
  return extra.length === 0 ? wave.agents : [...wave.agents, ...extra];
}

/** Serve the next wave (in place), or complete. */
function advance(s: RolloutState, now: number): void {
  s.wave += 1;
  s.appliedAt = {};
  if (s.wave >= s.waves.length) {
    s.phase = 'complete';
    s.endedAt = now;
  } else {
    s.waves[s.wave]!.startedAt = now;
  }
}

/**
 * Resume a halted (or waiting) rollout: the current wave counts as done and the next wave is
 * served `target` (the rollout completes when there is none). Throws NFTSYNC_ERR_ROLLOUT_STATE
 * for a rollout that is complete or aborted.
 */
export function resumeRollout(state: RolloutState, now: number): RolloutState {
  if (state.phase === 'complete' || state.phase === 'aborted') {
    throw new NftSyncError('NFTSYNC_ERR_ROLLOUT_STATE', `the rollout of ${state.name} to ${state.target.commit.slice(0, 12)} is ${state.phase}: only a running or halted rollout can be resumed`, {
      data: { rollout: state.name, phase: state.phase },
    });
  }
  const s: RolloutState = { ...state, waves: state.waves.map((w) => ({ ...w })), phase: 'running' };
  delete s.haltedBy;
  s.waves[s.wave]!.confirmedAt ??= now;
  advance(s, now);
  return s;
}

/**
 * Abort a running or halted rollout: every agent is served `previous` again (the waves that had
 * `target` go back); the branch is not moved, and its next new tip starts a new rollout from
 * `previous`. Throws NFTSYNC_ERR_ROLLOUT_STATE for a complete or already aborted rollout.
 */
export function abortRollout(state: RolloutState, now: number): RolloutState {
  if (state.phase === 'complete' || state.phase === 'aborted') {
    throw new NftSyncError('NFTSYNC_ERR_ROLLOUT_STATE', `the rollout of ${state.name} to ${state.target.commit.slice(0, 12)} is ${state.phase}: only a running or halted rollout can be aborted`, {
      data: { rollout: state.name, phase: state.phase },
    });
  }
  return { ...state, phase: 'aborted', endedAt: now };
}

/**
 * The revision a new rollout of the same ref starts from when the ref moves again: `target` of a
 * complete rollout, else (running, halted, aborted) its `previous`: a revision that never
 * completed its rollout is never the fallback.
 */
export function stableRevision(state: RolloutState): Revision {
  return state.phase === 'complete' ? state.target : state.previous;
}

/**
 * Milliseconds the rollout took beyond its hold times: from start to completion (or `now`),
 * minus one hold per wave. What the waiting for agents, reports and ticks cost.
 */
export function timeBeyondHolds(state: RolloutState, now: number): number {
  return (state.endedAt ?? now) - state.startedAt - state.hold * 1000 * state.waves.length;
}

const PHASES: ReadonlySet<string> = new Set(['running', 'halted', 'aborted', 'complete']);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isRevision = (v: unknown): boolean => isRecord(v) && typeof v.commit === 'string' && /^[0-9a-f]{40,64}$/.test(v.commit) && (v.tag === undefined || typeof v.tag === 'string');

/** Why one saved rollout is not a RolloutState this module can work with; undefined: it is. */
function savedStateProblem(v: unknown): string | undefined {
  if (!isRecord(v)) return 'not an object';
  if (typeof v.name !== 'string' || v.name.length === 0) return 'no name';
  if (!isRevision(v.previous) || !isRevision(v.target)) return 'previous or target is not a revision';
  if (!isTime(v.hold) || !isTime(v.startedAt) || (v.endedAt !== undefined && !isTime(v.endedAt))) return 'hold or times are not numbers';
  if (typeof v.phase !== 'string' || !PHASES.has(v.phase)) return 'unknown phase';
  if (!Array.isArray(v.waves)) return 'waves is not a list';
  if (!Number.isInteger(v.wave) || (v.wave as number) < 0 || (v.wave as number) > v.waves.length) return 'wave is not an index of waves';
  if (!isRecord(v.appliedAt) || !Object.values(v.appliedAt).every(isTime)) return 'appliedAt is not a map of times';
  if (v.haltedBy !== undefined && !(isRecord(v.haltedBy) && typeof v.haltedBy.agent === 'string' && typeof v.haltedBy.reason === 'string')) return 'haltedBy is malformed';
  for (const w of v.waves as unknown[]) {
    if (!isRecord(w) || !isNames(w.agents) || (w.patterns !== undefined && !isNames(w.patterns))) return 'a wave is malformed';
    if ((w.startedAt !== undefined && !isTime(w.startedAt)) || (w.confirmedAt !== undefined && !isTime(w.confirmedAt))) return 'a wave time is not a number';
    for (const p of w.patterns ?? []) {
      try {
        compileAgentGlob(p as string);
      } catch {
        return `wave pattern ${JSON.stringify(String(p).slice(0, 80))} is not a valid glob`;
      }
    }
  }
  return undefined;
}

/**
 * The rollouts saved in GIT_DIR/nft-sync/rollouts.json (the parsed JSON, `{ rollouts: [...] }`),
 * each checked to be a whole RolloutState: damaged entries are left out and named in `refused`,
 * so a file cut short, edited by hand or left by another version never reaches observe() or
 * revisionFor(). Pure; never throws.
 */
export function savedRollouts(value: unknown): { states: RolloutState[]; refused: string[] } {
  const list = isRecord(value) ? value.rollouts : undefined;
  if (list === undefined) return { states: [], refused: [] };
  if (!Array.isArray(list)) return { states: [], refused: ['rollouts is not a list'] };
  const states: RolloutState[] = [];
  const refused: string[] = [];
  list.forEach((entry: unknown, i) => {
    const problem = savedStateProblem(entry);
    const name = isRecord(entry) && typeof entry.name === 'string' ? JSON.stringify(entry.name.slice(0, 80)) : `#${i}`;
    if (problem === undefined) states.push(entry as unknown as RolloutState);
    else refused.push(`${name}: ${problem}`);
  });
  return { states, refused };
}
