/**
 * The agent registry as the wire server feeds it: a report is taken only on a connection whose
 * hello named the agent, and only for that name, so no client can write another agent's status
 * (plain TCP; under TLS the name is the certificate's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import type { AgentStatus } from '../../../../shared/wire/messages.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const status = (agent: string): AgentStatus => ({ agent, ref: 'main', state: 'Applied', commit: 'a'.repeat(40), conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });

test('a report on a connection whose hello named no agent is refused and not kept', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port });
  t.after(() => c.close());
  await assert.rejects(c.report(status('ghost-1')), { code: 'NFTSYNC_ERR_MSG_UNEXPECTED' });
  assert.equal(f.server.wire.registry.get('ghost-1'), undefined, 'nothing kept for ghost-1');
});

test('a report for another agent than the one hello named is refused; its own is kept', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  await assert.rejects(c.report(status('db-1')), { code: 'NFTSYNC_ERR_MSG_INVALID' });
  assert.equal(f.server.wire.registry.get('db-1'), undefined);
  await c.report(status('web-1'));
  assert.equal(f.server.wire.registry.get('web-1')?.status?.state, 'Applied');
  assert.equal(f.server.wire.registry.get('web-1')?.connected, true);
});
