/**
 * Slow-loris: clients that trickle bytes are never idle, so a socket idle timeout does not
 * catch them; the handshake and frame deadlines (server/wire/frame-deadline.ts) do.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

/** Send `head` at once, then `trickle` one byte every `everyMs`; resolve with what came back once closed. */
function trickle(f: ServerFixture, head: Buffer, slow: Buffer, everyMs: number, giveUpMs: number): Promise<{ messages: ServerMessage[]; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
    const messages: ServerMessage[] = [];
    const t0 = Date.now();
    let i = 0;
    let tick: NodeJS.Timeout | undefined;
    const s = net.connect({ host: f.host, port: f.port }, () => {
      s.write(head);
      tick = setInterval(() => {
        if (i < slow.length && !s.destroyed) s.write(slow.subarray(i, ++i));
      }, everyMs);
    });
    const timer = setTimeout(() => s.destroy(), giveUpMs);
    s.on('data', (c) => messages.push(...reader.push(c).map((m) => m.message)));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      clearInterval(tick);
      resolve({ messages, closed: Date.now() - t0 < giveUpMs, ms: Date.now() - t0 });
    });
  });
}

const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'slow' });
const ping = encodeMessage({ type: 'ping', id: 1 });

test('a hello trickled byte by byte is cut off at the handshake deadline', async (t) => {
  const f = await startServerFixture(t, { wire: { limits: { handshakeTimeoutMs: 600 } } });
  const r = await trickle(f, Buffer.alloc(0), hello, 100, 5000);
  assert.equal(r.closed, true, 'closed by the server');
  assert.ok(r.ms < 2000, `closed after ${r.ms} ms`);
  const err = r.messages.find((m) => m.type === 'error');
  assert.equal(err?.type === 'error' && err.code, 'NFTSYNC_ERR_PROTO_TIMEOUT');
});

test('after the handshake, a frame trickled byte by byte is cut off at the frame deadline', async (t) => {
  const f = await startServerFixture(t, { wire: { limits: { frameTimeoutMs: 500 } } });
  // A long ping: padding in the frame keeps it arriving for longer than the deadline.
  const r = await trickle(f, hello, Buffer.concat([ping, ping, ping, ping]), 100, 5000);
  assert.equal(r.closed, true, 'closed by the server');
  assert.ok(r.ms < 2500, `closed after ${r.ms} ms`);
  assert.equal(r.messages[0]?.type, 'welcome');
  const err = r.messages.find((m) => m.type === 'error');
  assert.equal(err?.type === 'error' && err.code, 'NFTSYNC_ERR_PROTO_TIMEOUT');
  assert.match(err?.type === 'error' ? err.message : '', /frame took longer/);
});
