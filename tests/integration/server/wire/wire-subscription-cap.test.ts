/**
 * One connection cannot follow refs without bound: every followed ref is re-resolved on every
 * push, so the hub's size is the cost of each ref move. Real server and git on loopback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { expectCode } from '../../../helpers/expect-code.js';

test('a connection may follow 64 distinct refs; the 65th is a request error and the connection stays usable', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'greedy' });
  t.after(() => c.close());
  for (let i = 0; i < 64; i++) await c.subscribe(`nope-${i}`);
  await c.subscribe('nope-0'); // following one again is not a new subscription
  await expectCode(c.subscribe('nope-64'), 'NFTSYNC_ERR_MSG_INVALID');
  assert.equal(f.server.wire.hub.size.refs, 64);
  assert.ok((await c.ping()) >= 0, 'the connection still answers');
});
