/**
 * /api/v1/rollouts on a real server: the list, one rollout by its URL-encoded name, resume and
 * abort as writes (a token when the server has a token list), and the catalogue's codes for a
 * rollout that does not exist or is over. Agents are protocol clients named in hello.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../../agent/wire/wire-client.js';
import { parseTokenList } from '../../../../../shared/config/token-list.js';
import { startServerFixture, type ServerFixture } from '../../../../helpers/server-fixture.js';
import { waitFor } from '../../../../helpers/wait-for.js';

const TOKEN = 'rollout-routes-token-0123456789';

async function call(fx: ServerFixture, method: string, path: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${fx.server.httpAddress!.port}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

test('the rollout routes: list, one by name, resume and abort need a token, 404 and 409 from the catalogue', async (t) => {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} operator\n`) });
  assert.deepEqual((await call(fx, 'GET', '/api/v1/rollouts')).body, { rollouts: [] });
  const none = await call(fx, 'GET', '/api/v1/rollouts/main');
  assert.equal(none.status, 404);
  assert.equal(none.body.error.code, 'NFTSYNC_ERR_ROLLOUT_NOT_FOUND', 'a branch whose tips had no rollout has none');

  const client = await WireClient.connect({ host: fx.host, port: fx.port, agent: 'canary-1' });
  t.after(() => client.close());
  await client.subscribe('main');
  const target = fx.push({ 'nft-sync.yaml': 'rollouts:\n  main:\n    hold: 60\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n' }, 'rollouts');
  const running = await waitFor(async () => {
    const r = await call(fx, 'GET', `/api/v1/rollouts/${encodeURIComponent('main')}`);
    return r.status === 200 && r.body.target.commit === target ? r.body : undefined;
  });
  assert.equal(running.phase, 'running');
  assert.deepEqual(running.waves.map((w: { agents: string[] }) => w.agents), [['canary-1'], []]);
  assert.equal(typeof running.beyondHoldMs, 'number');
  assert.deepEqual((await call(fx, 'GET', '/api/v1/rollouts')).body.rollouts.map((r: { name: string }) => r.name), ['main']);

  const anonymous = await call(fx, 'POST', '/api/v1/rollouts/main/resume');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error.code, 'NFTSYNC_ERR_AUTH_REQUIRED');
  const resumed = await call(fx, 'POST', '/api/v1/rollouts/main/resume', TOKEN);
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  // The next wave is served; it is empty (no other agent), so it passes at once.
  assert.equal(resumed.body.phase, 'complete');
  assert.equal(resumed.body.wave, 2);
  assert.equal(typeof resumed.body.waves[0].confirmedAt, 'number', 'resume counts the canary wave as done');
  const late = await call(fx, 'POST', '/api/v1/rollouts/main/abort', TOKEN);
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'NFTSYNC_ERR_ROLLOUT_STATE');
  assert.equal((await call(fx, 'POST', `/api/v1/rollouts/${encodeURIComponent('tags:v*')}/abort`, TOKEN)).body.error.code, 'NFTSYNC_ERR_ROLLOUT_NOT_FOUND');
});
