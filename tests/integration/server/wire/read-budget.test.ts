/**
 * A client that streams the largest frames it may send as fast as it can is read no faster than
 * its address's read budget, while an agent on another address is served. Real server, real
 * sockets on loopback.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { encodeFrame } from '../../../../shared/wire/frame-decoder.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { CLIENT_MAX_FRAME, SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

test('a client streaming 64 KiB frames is read no faster than its read budget; an agent elsewhere is served meanwhile', async (t) => {
  const rate = 256 * 1024;
  const burst = 256 * 1024;
  const f = await startServerFixture(t, { wire: { readBudget: { bytesPerSecond: rate, burstBytes: burst } } });
  const head = '{"type":"ping","id":1}';
  const heavy = encodeFrame(Buffer.from(head + ' '.repeat(CLIENT_MAX_FRAME - head.length)));
  const N = 12;
  let pongs = 0;
  let nthPong: (() => void) | undefined;
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const s = net.connect({ host: '127.0.0.1', port: f.port, localAddress: '127.0.0.2' });
  t.after(() => s.destroy());
  s.on('error', () => {});
  s.on('data', (c) => {
    pongs += reader.push(c).filter((m) => m.message.type === 'pong').length;
    if (pongs >= N) nthPong?.();
  });
  const answered = new Promise<void>((resolve) => (nthPong = resolve));
  let t0 = 0;
  s.on('connect', () => {
    t0 = performance.now();
    s.write(encodeMessage({ type: 'hello', versions: [1], agent: 'streamer' }));
    const pump = () => {
      while (!s.destroyed && s.write(heavy));
      if (!s.destroyed) s.once('drain', pump);
    };
    pump();
  });
  const agent = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'good' });
  t.after(() => agent.close());
  for (let i = 0; i < 20; i++) assert.equal((await agent.fetch({ ref: 'main', ruleset: 'default' })).kind, 'ruleset');
  const deadline = setTimeout(() => nthPong?.(), 30_000);
  await answered;
  clearTimeout(deadline);
  assert.ok(pongs >= N, `only ${pongs} frames answered within 30 s`);
  // N frames cannot have been read faster than the bucket allows: burst first, then the rate
  // (less one frame: the chunk that overdraws the bucket is still read). Less 50 ms: the server's
  // clock (Date.now) and its timers are not this one, and the point is that it was throttled at
  // all (unthrottled, the frames are answered in a few ms).
  const elapsed = performance.now() - t0;
  const least = (((N - 1) * heavy.length - burst) / rate) * 1000;
  t.diagnostic(`${N} frames of 64 KiB answered after ${elapsed.toFixed(0)} ms; the budget allows it after ${least.toFixed(0)} ms at the earliest`);
  assert.ok(elapsed >= least - 50, `${N} frames read in ${elapsed.toFixed(0)} ms, faster than the budget allows (${least.toFixed(0)} ms, less 50 ms of slack)`);
});

test('security: a connection whose throttle timer fires early by the clock is read again; it used to stay paused for good', async (t) => {
  // A timer counts from the event loop's cached time: after a long turn of the loop (a 7 MiB
  // publish being refused) it fires early by Date.now(), and the session, still "throttled",
  // returned without a new timer: that connection got no pong for 58 s, then the agent's
  // watchdog. Here the clock runs 3 s ahead while the frames are read, as it does after such a turn.
  const f = await startServerFixture(t, { wire: { readBudget: { bytesPerSecond: 64 * 1024, burstBytes: 64 * 1024 } } });
  const head = '{"type":"ping","id":1}';
  const heavy = encodeFrame(Buffer.from(head + ' '.repeat(48 * 1024)));
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const s = net.connect({ host: '127.0.0.1', port: f.port });
  t.after(() => s.destroy());
  s.on('error', () => {});
  let pongs = 0;
  let third: (() => void) | undefined;
  s.on('data', (c) => {
    pongs += reader.push(c).filter((m) => m.message.type === 'pong').length;
    if (pongs >= 3) third?.();
  });
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  s.write(encodeMessage({ type: 'hello', versions: [1], agent: 'web-1' }));
  const realNow = Date.now;
  Date.now = () => realNow() + 3000;
  try {
    s.write(Buffer.concat([heavy, heavy]));
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    Date.now = realNow;
  }
  s.write(encodeMessage({ type: 'ping', id: 2 }));
  const answered = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 15_000);
    third = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  assert.ok(answered, `only ${pongs} of 3 pings answered within 15 s: the connection stayed paused`);
});
