import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeRollouts, formatRollout } from '../../../cli/rollout-lines.js';
import type { RolloutAnswer as RolloutView } from '../../../shared/http/http-api.js';

const HALTED: RolloutView = {
  name: 'main',
  previous: { commit: 'a'.repeat(40) },
  target: { commit: 'b'.repeat(40) },
  hold: 30,
  waves: [{ agents: ['canary-1'], patterns: ['canary-*'], startedAt: 0 }, { agents: ['web-1', 'web-2'] }, { agents: [] }],
  wave: 0,
  phase: 'halted',
  startedAt: 0,
  appliedAt: {},
  haltedBy: { agent: 'canary-1', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off', at: 5000 },
  beyondHoldMs: 0,
};

test('a halted rollout names its revisions, who halted it and why, and each wave', () => {
  assert.deepEqual(formatRollout(HALTED, 10_000), [
    `rollout main: HALTED  ${'a'.repeat(12)} -> ${'b'.repeat(12)}  hold 30s`,
    '  halted by canary-1: RolledBack (NFTSYNC_ERR_CONFIRM_FAILED: cut off); resume: nft-sync rollout resume, abort: nft-sync rollout abort',
    '  wave 1: halted, 1 agent: canary-1',
    '  wave 2: waiting, 2 agents: web-1, web-2',
    '  wave 3: waiting, 0 agents',
  ]);
});

test('status shows running and halted rollouts only', () => {
  const done: RolloutView = { ...HALTED, name: 'dev', phase: 'complete', endedAt: 100_000 };
  assert.deepEqual(activeRollouts([HALTED, done]).map((r) => r.name), ['main']);
  assert.match(formatRollout(done, 0).at(-1)!, /took 100s/);
});
