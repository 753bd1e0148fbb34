import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRepoConfig, type RolloutSpec } from '../../../../shared/config/repo-config.js';
import { NftSyncError } from '../../../../shared/errors.js';
import {
  abortRollout,
  globMatchesKept,
  observe,
  planWaves,
  resumeRollout,
  revisionFor,
  stableRevision,
  startRollout,
  timeBeyondHolds,
  type AgentView,
  type RolloutState,
} from '../../../../shared/rollout/rollout-state.js';

const SPEC: RolloutSpec = parseRepoConfig('rollouts:\n  main:\n    hold: 30\n    waves:\n      - agents: ["canary-*"]\n      - percent: 25\n      - percent: 100\n').rollouts!['main']!;
const OLD = { commit: 'a'.repeat(40) };
const NEW = { commit: 'b'.repeat(40) };
const FLEET = ['canary-1', 'canary-2', ...Array.from({ length: 8 }, (_, i) => `web-${i}`)];

function applied(name: string, commit = NEW.commit, connected = true): AgentView {
  return { name, connected, status: { state: 'Applied', commit, conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] } };
}
function rolledBack(name: string): AgentView {
  return {
    name,
    connected: true,
    status: { state: 'Failed', commit: OLD.commit, attemptedCommit: NEW.commit, conditions: [{ type: 'Ready', status: 'False', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off' }] },
  };
}
function start(known = FLEET, now = 0): RolloutState {
  return startRollout({ name: 'main', spec: SPEC, previous: OLD, target: NEW, known, now });
}

describe('planWaves', () => {
  it('puts glob matches first, then a cumulative percent of the rest in a stable hash order', () => {
    const waves = planWaves(SPEC, FLEET);
    assert.deepEqual(waves[0], ['canary-1', 'canary-2']);
    assert.equal(waves[1]!.length, 2, 'ceil(25% of 8)');
    assert.equal(waves[2]!.length, 6);
    assert.deepEqual([...waves.flat()].sort(), [...FLEET].sort(), 'every agent in exactly one wave');
  });
  it('is deterministic: the same agents in any order give the same waves', () => {
    assert.deepEqual(planWaves(SPEC, [...FLEET].reverse()), planWaves(SPEC, FLEET));
  });
  it('keeps an agent in its wave when others join (the hash order does not depend on the rest)', () => {
    const before = planWaves(SPEC, FLEET)[1]!;
    const after = planWaves(SPEC, [...FLEET, 'web-8', 'web-9', 'web-10', 'web-11']);
    for (const a of before) assert.ok(after[1]!.includes(a) || after[2]!.includes(a));
  });
});

describe('revisionFor and observe', () => {
  it('serves the new revision to the first wave only, the previous to the rest and to anonymous connections', () => {
    const s = start();
    assert.deepEqual(revisionFor(s, 'canary-1'), NEW);
    assert.deepEqual(revisionFor(s, 'web-0'), OLD);
    assert.deepEqual(revisionFor(s, undefined), OLD);
    assert.deepEqual(revisionFor(s, 'canary-9'), NEW, 'a canary that appears later joins its glob wave');
    assert.deepEqual(revisionFor(s, 'newcomer'), OLD, 'an unknown agent waits for completion');
  });
  it('moves to the next wave only after every agent of the wave stayed Ready for the hold', () => {
    let s = start();
    s = observe(s, [applied('canary-1')], 1000);
    assert.equal(s.wave, 0);
    s = observe(s, [applied('canary-1'), applied('canary-2')], 2000);
    assert.equal(s.wave, 0);
    s = observe(s, [applied('canary-1'), applied('canary-2')], 31_000);
    assert.equal(s.wave, 0, 'canary-2 applied at 2 s: not yet held 30 s');
    s = observe(s, [applied('canary-1'), applied('canary-2')], 32_000);
    assert.equal(s.wave, 1);
    assert.equal(s.waves[0]!.confirmedAt, 32_000);
    const second = s.waves[1]!.agents;
    assert.deepEqual(revisionFor(s, second[0]!), NEW);
    assert.deepEqual(revisionFor(s, s.waves[2]!.agents[0]!), OLD);
  });
  it('restarts the hold of an agent that stops being Ready, and does not count a disconnected one', () => {
    let s = start();
    s = observe(s, [applied('canary-1'), applied('canary-2')], 0);
    s = observe(s, [applied('canary-1'), { ...applied('canary-2'), status: { ...applied('canary-2').status!, state: 'Degraded' } }], 10_000);
    s = observe(s, [applied('canary-1'), applied('canary-2')], 20_000);
    s = observe(s, [applied('canary-1'), applied('canary-2')], 40_000);
    assert.equal(s.wave, 0, 'canary-2 Ready again only since 20 s');
    s = observe(s, [applied('canary-1'), applied('canary-2', NEW.commit, false)], 60_000);
    assert.equal(s.wave, 0, 'canary-2 is not connected');
    s = observe(s, [applied('canary-1'), applied('canary-2')], 60_000);
    assert.equal(s.wave, 1);
  });
  it('completes after the last wave; then everyone gets the new revision and it is the stable one', () => {
    let s = start();
    const all = () => FLEET.map((n) => applied(n));
    for (let t = 0; t <= 200_000 && s.phase === 'running'; t += 10_000) s = observe(s, all(), t);
    assert.equal(s.phase, 'complete');
    assert.deepEqual(revisionFor(s, 'newcomer'), NEW);
    assert.deepEqual(stableRevision(s), NEW);
    assert.equal(timeBeyondHolds(s, 0), s.endedAt! - 90_000);
  });
  it('passes empty waves at once', () => {
    let s = start(['web-0']);
    assert.deepEqual(s.waves.map((w) => w.agents.length), [0, 1, 0]);
    s = observe(s, [], 0);
    assert.equal(s.wave, 1);
    assert.deepEqual(revisionFor(s, 'web-0'), NEW);
  });
  it('halts on a RolledBack report in the wave; later waves stay on the previous revision', () => {
    let s = start();
    s = observe(s, [applied('canary-1'), rolledBack('canary-2')], 5000);
    assert.equal(s.phase, 'halted');
    assert.deepEqual(s.haltedBy, { agent: 'canary-2', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off', at: 5000 });
    for (const n of FLEET.filter((n) => n.startsWith('web'))) assert.deepEqual(revisionFor(s, n), OLD);
    assert.equal(observe(s, FLEET.map((n) => applied(n)), 100_000), s, 'a halted rollout does not move');
    assert.deepEqual(stableRevision(s), OLD);
  });
  it('ignores a failure of another commit and failures outside the waves served', () => {
    let s = start();
    const oldFailure = { ...rolledBack('canary-1'), status: { ...rolledBack('canary-1').status!, attemptedCommit: 'c'.repeat(40) } };
    s = observe(s, [oldFailure, rolledBack('web-3')], 0);
    assert.equal(s.phase, 'running');
  });
});

describe('resume and abort', () => {
  it('resume continues with the next wave', () => {
    let s = observe(start(), [rolledBack('canary-1')], 0);
    s = resumeRollout(s, 1000);
    assert.equal(s.phase, 'running');
    assert.equal(s.wave, 1);
    assert.equal(s.haltedBy, undefined);
    assert.deepEqual(revisionFor(s, s.waves[1]!.agents[0]!), NEW);
  });
  it('abort serves everyone the previous revision, the first wave included', () => {
    const s = abortRollout(start(), 1000);
    assert.equal(s.phase, 'aborted');
    assert.deepEqual(revisionFor(s, 'canary-1'), OLD);
    assert.deepEqual(stableRevision(s), OLD);
  });
  it('refuses to resume or abort a finished rollout with ROLLOUT_STATE', () => {
    const s = abortRollout(start(), 1000);
    for (const f of [resumeRollout, abortRollout]) {
      assert.throws(() => f(s, 2000), (e: unknown) => e instanceof NftSyncError && e.code === 'NFTSYNC_ERR_ROLLOUT_STATE');
    }
  });
});

describe('rollout state: glob matching is paid once per name (security)', () => {
  it('observe matches each agent that joined by name against the globs once, and the states it derives keep that memo: later looks and fetches match nothing again', () => {
    // canary-1 is a fixed member of wave 0, Applied but within its hold: the rollout stays on wave 0.
    const s0 = start(['canary-1']);
    const late: AgentView[] = Array.from({ length: 50 }, (_, i) => ({ name: `late-${i}`, connected: true }));
    const s1 = observe(s0, [applied('canary-1'), ...late], 1000);
    assert.notEqual(s1, s0, 'appliedAt changed: a derived state');
    assert.equal(s1.wave, 0);
    assert.equal(globMatchesKept(s1), 50, 'each joined name matched once, the memo handed to the derived state');
    const s2 = observe(s1, [applied('canary-1'), ...late], 2000);
    for (const a of late) assert.deepEqual(revisionFor(s2, a.name), OLD);
    assert.equal(globMatchesKept(s2), 50, 'no name matched twice');
  });
});
