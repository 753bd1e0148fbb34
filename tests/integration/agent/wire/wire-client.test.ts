/**
 * agent/wire/wire-client.ts against a real server on loopback: hello and welcome, subscribe and
 * 'moved', fetch (the stored bytes, a ruleset over --max-ruleset-bytes refused unread), report,
 * ping, close; a server that is not there NFTSYNC_ERR_CONN_FAILED.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { freePort } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor, waitForEvent } from '../../../helpers/wait-for.js';
import { DeltaAnswers } from '../../../../agent/wire/delta-answers.js';
import { knownBlobId } from '../../../../agent/known-blob-id.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import type { AheadMessage } from '../../../../shared/wire/messages.js';
import { startHostileServer } from '../../../helpers/hostile-server.js';

test('WireClient: subscribe gives the tip and then each move; fetch the stored bytes; report reaches the registry; ping; close emits close', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  assert.equal(typeof c.welcome, 'object');
  const head = f.git(['rev-parse', 'HEAD']);
  assert.equal(await c.subscribe('main'), head);
  const moved = waitForEvent<[string, string]>(c, 'moved');
  const next = f.push({ 'rulesets/web.json': '{"nftables": []}\n' }, 'web');
  assert.deepEqual(await moved, ['main', next]);
  const r = await c.fetch({ ref: 'main', ruleset: 'web' });
  assert.equal(r.kind, 'ruleset');
  if (r.kind !== 'ruleset') return;
  assert.equal(r.bytes.toString(), '{"nftables": []}\n');
  assert.equal(r.commit, next);
  assert.equal(r.blob, f.git(['rev-parse', `${next}:rulesets/web.json`]));
  await assert.rejects(c.fetch({ ref: 'nope' }), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
  await c.report({ agent: 'web-1', ref: 'main', commit: next, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
  await waitFor(() => f.server.wire.registry.get('web-1')?.status?.commit === next);
  assert.equal(typeof (await c.ping()), 'number');
  const closed = waitForEvent(c, 'close');
  c.close();
  await closed;
});

test('WireClient: a ruleset bigger than maxRulesetBytes is refused (NFTSYNC_ERR_RULESET_TOO_LARGE); no server: NFTSYNC_ERR_CONN_FAILED', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/big.json': `{"nftables": [], "pad": "${'x'.repeat(4096)}"}` }, 'big');
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'a', maxRulesetBytes: 1024 });
  t.after(() => c.close());
  await assert.rejects(c.fetch({ ref: 'main', ruleset: 'big' }), { code: 'NFTSYNC_ERR_RULESET_TOO_LARGE' });
  await assert.rejects(WireClient.connect({ host: '127.0.0.1', port: await freePort() }), { code: 'NFTSYNC_ERR_CONN_FAILED' });
});

test('security (hostile server): `ahead` frames are taken only as asked for, after a subscribe on protocol version 2; a version 1 server\'s are ignored', async (t) => {
  const base = Buffer.from(Array.from({ length: 150_000 }, (_, i) => `  "198.18.${(i >> 8) & 255}.${i & 255}-${i}",`).join('\n'));
  const copyAll = Buffer.from('nft-sync-delta 1\n= 150000\n');
  const frame = encodeMessage({ type: 'ahead', ref: 'main', ruleset: 'default', commit: 'c'.repeat(40), base: knownBlobId(base), size: copyAll.length, target: base.length } as AheadMessage, copyAll);
  const calls: string[] = [];
  const orig = DeltaAnswers.prototype.ahead;
  DeltaAnswers.prototype.ahead = function (this: DeltaAnswers, m, b, max) {
    calls.push(m.commit);
    return orig.call(this, m, b, max);
  };
  t.after(() => (DeltaAnswers.prototype.ahead = orig));
  const server = await startHostileServer(t, async (c) => {
    await c.handshake(); // welcome version 1
    await c.next(); // the test's ping: idle() was called by then
    await c.send(Buffer.concat([frame, frame]));
    await c.send(encodeMessage({ type: 'pong', id: 1 }));
  });
  const client = await WireClient.connect({ host: server.host, port: server.port, agent: 'a' });
  t.after(() => client.close());
  assert.equal(client.welcome.version, 1);
  client.idle(base);
  await client.ping();
  assert.deepEqual(calls, [], 'a version 1 connection that asked for no `ahead` does not act on one');
  assert.equal(client.closed, false);
});
