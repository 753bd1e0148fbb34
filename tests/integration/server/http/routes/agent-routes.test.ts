/** server/http/routes/agent-routes.ts: every agent's record, one by name, and the code for an unknown name. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../../agent/wire/wire-client.js';
import { assertApiError, httpAppFixture } from '../../../../helpers/http-app-fixture.js';
import { waitFor } from '../../../../helpers/wait-for.js';

test('GET /api/v1/agents lists the agents that connected, /agents/NAME shows one with its report; unknown: NFTSYNC_ERR_AGENT_NOT_FOUND', async (t) => {
  const { f, app, c2 } = await httpAppFixture(t);
  assert.deepEqual((await app.inject('/api/v1/agents')).json(), { agents: [] });
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => client.close());
  await client.report({ agent: 'web-1', ref: 'main', commit: c2, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
  const one = await waitFor(async () => {
    const res = await app.inject('/api/v1/agents/web-1');
    return res.statusCode === 200 && res.json().status?.commit === c2 ? res.json() : undefined;
  });
  assert.equal(one.name, 'web-1');
  assert.equal(one.connected, true);
  assert.equal(one.status.state, 'Applied');
  assert.deepEqual((await app.inject('/api/v1/agents')).json().agents.map((a: { name: string }) => a.name), ['web-1']);
  assertApiError(await app.inject('/api/v1/agents/web-2'), 'NFTSYNC_ERR_AGENT_NOT_FOUND');
});
