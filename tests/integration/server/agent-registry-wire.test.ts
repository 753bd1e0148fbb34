/**
 * The agent registry as the wire server feeds it: a report sent on a connection whose hello named
 * no agent (plain TCP only; TLS requires a name) must not leave that agent shown as connected
 * after the connection closes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../agent/wire-client.js';
import { startServerFixture } from '../../helpers/server-fixture.js';

test('a report from a connection without an agent name does not mark the agent connected for ever', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port });
  await c.report({ agent: 'ghost-1', ref: 'main', state: 'Applied', commit: 'a'.repeat(40), conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
  c.close();
  const reg = f.server.wire.registry;
  const deadline = Date.now() + 3000;
  while (f.server.wire.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.server.wire.connections, 0, 'connection closed');
  const rec = reg.get('ghost-1');
  assert.equal(rec?.status?.state, 'Applied', 'the report is kept');
  assert.equal(rec?.connected, false, 'no connection of ghost-1 is open');
});
