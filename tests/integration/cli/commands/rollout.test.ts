/**
 * `nft-sync rollout status|resume|abort` as a process against a real server on loopback (writes
 * allowed there without a token); the agent is a protocol client that reports as an agent does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

test('rollout: usage errors exit 2; status lists rollouts and exits 3 when one is halted; resume goes on with the next wave', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const http = `http://127.0.0.1:${fx.server.httpAddress!.port}`;
  const bad = await runCli(['rollout', '--http', http]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /NFTSYNC_ERR_USAGE: rollout: expected status\|resume\|abort/);
  const unnamed = await runCli(['rollout', 'abort', '--http', http]);
  assert.equal(unnamed.code, 2);
  assert.match(unnamed.stderr, /--branch BRANCH/);
  const empty = await runCli(['rollout', 'status', '--http', http]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no rollouts/);

  const c0 = fx.git(['rev-parse', 'HEAD']);
  const client = await WireClient.connect({ host: fx.host, port: fx.port, agent: 'canary-1' });
  t.after(() => client.close());
  await client.subscribe('main');
  const target = fx.push({ 'nft-sync.yaml': 'rollouts:\n  main:\n    hold: 5\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n' }, 'rollouts');
  await waitFor(() => fx.server.rollouts.list().some((r) => r.target.commit === target), { what: 'the rollout started' });
  await client.report({
    agent: 'canary-1', ref: 'main', commit: c0, attemptedCommit: target, state: 'Failed',
    conditions: [{ type: 'Ready', status: 'False', reason: 'RolledBack', message: 'NFTSYNC_ERR_CONFIRM_FAILED: cut off' }],
  });
  await waitFor(() => fx.server.rollouts.get('main').phase === 'halted', { what: 'halted' });

  const st = await runCli(['rollout', 'status', '--http', http, '--branch', 'main']);
  assert.equal(st.code, 3, st.stderr);
  assert.match(st.stdout, /^rollout main: HALTED {2}[0-9a-f]{12} -> [0-9a-f]{12} {2}hold 5s$/m);
  assert.match(st.stdout, /halted by canary-1: RolledBack \(NFTSYNC_ERR_CONFIRM_FAILED: cut off\)/);
  assert.match(st.stdout, /wave 1: halted, 1 agent: canary-1/);
  const json = await runCli(['rollout', 'status', '--http', http, '--json']);
  assert.equal(JSON.parse(json.stdout).rollouts[0].phase, 'halted');

  const resumed = await runCli(['rollout', 'resume', '--http', http, '--branch', 'main']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /rollout main: (RUNNING|COMPLETE)/);
  assert.match(resumed.stdout, /wave 1: confirmed/);
  const again = await runCli(['rollout', 'abort', '--http', http, '--branch', 'main']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /NFTSYNC_ERR_ROLLOUT_STATE/);
});
