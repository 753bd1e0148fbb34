/**
 * server/wire/wire-session.ts: one connection's protocol on the server side, spoken frame by
 * frame over a raw socket to a real server: hello first, requests answered by id (a failed one
 * does not end the connection), moves told to subscribers, a protocol error fatal and closing.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

/** A raw connection: send messages, and wait for the next server message (or the close). */
async function raw(t: TestContext, f: ServerFixture) {
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const queue: ServerMessage[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  const s = net.connect({ host: f.host, port: f.port });
  s.on('error', () => {});
  s.on('data', (c) => {
    for (const m of reader.push(c)) queue.push(m.message);
    waiter?.();
  });
  s.on('close', () => {
    closed = true;
    waiter?.();
  });
  t.after(() => s.destroy());
  await new Promise<void>((r) => s.once('connect', () => r()));
  return {
    send: (msg: Parameters<typeof encodeMessage>[0]) => s.write(encodeMessage(msg)),
    /** The next message; undefined when the server closed first. */
    async next(): Promise<ServerMessage | undefined> {
      for (let i = 0; i < 1000 && queue.length === 0 && !closed; i++) await new Promise<void>((r) => (waiter = r));
      waiter = undefined;
      return queue.shift();
    },
    closed: () => closed,
  };
}

test('after hello: welcome; ping answered by id; a failed fetch answered by its id, not fatal; subscribe then moved on a push', { timeout: 30_000 }, async (t) => {
  const f = await startServerFixture(t);
  const c = await raw(t, f);
  c.send({ type: 'hello', versions: [1], agent: 'raw-1' });
  assert.equal((await c.next())?.type, 'welcome');
  c.send({ type: 'ping', id: 7 });
  assert.deepEqual(await c.next(), { type: 'pong', id: 7 });
  c.send({ type: 'fetch', id: 8, ref: 'nope' });
  const failed = await c.next();
  assert.equal(failed?.type, 'error');
  assert.deepEqual(failed?.type === 'error' && [failed.id, failed.code, failed.fatal], [8, 'NFTSYNC_ERR_REF_NOT_FOUND', false]);
  c.send({ type: 'subscribe', id: 9, ref: 'main' });
  assert.deepEqual(await c.next(), { type: 'subscribed', id: 9, ref: 'main', commit: f.git(['rev-parse', 'HEAD']) });
  const next = f.push({ 'rulesets/web.json': '{"nftables": []}\n' }, 'web');
  const moved = await c.next();
  assert.deepEqual(moved?.type === 'moved' && [moved.ref, moved.commit], ['main', next]);
  assert.equal(c.closed(), false);
});

test('a request before hello, or a second hello: one fatal error frame, then the server closes', { timeout: 30_000 }, async (t) => {
  const f = await startServerFixture(t);
  const early = await raw(t, f);
  early.send({ type: 'ping', id: 1 });
  const e1 = await early.next();
  assert.deepEqual(e1?.type === 'error' && e1.fatal, true, JSON.stringify(e1));
  assert.equal(await early.next(), undefined, 'closed after it');
  const twice = await raw(t, f);
  twice.send({ type: 'hello', versions: [1], agent: 'raw-2' });
  assert.equal((await twice.next())?.type, 'welcome');
  twice.send({ type: 'hello', versions: [1], agent: 'raw-2' });
  const e2 = await twice.next();
  assert.deepEqual(e2?.type === 'error' && e2.fatal, true, JSON.stringify(e2));
  assert.equal(await twice.next(), undefined);
});
