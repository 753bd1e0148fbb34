/**
 * Backpressure: an agent that stops reading fills only its own buffers. The server waits for
 * each of its answers to drain before the next, drops it once it takes nothing for writeStallMs
 * or leaves more than maxUnreadBytes of `moved` frames unread, says so in the drop log, and
 * meanwhile a normal agent beside it fetches and hears every push. Real server and sockets.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function dropped(lines: Array<Record<string, unknown>>, reason: string): number {
  return lines.filter((l) => l.msg === 'wire connections dropped').reduce((n, l) => n + Number((l.dropped as Record<string, number>)[reason] ?? 0), 0);
}

/** A ruleset of about `kb` KiB (its contents do not matter here: no validator runs). */
function bigRuleset(kb: number, tag: string): string {
  return JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'filter' } }], comment: tag, pad: 'x'.repeat(kb * 1024) });
}

/**
 * A raw client that says hello, subscribes to main, sends `fetches` fetches and never reads.
 * `closed` resolves when the server holds only `others` sessions (a paused socket does not
 * notice its own close).
 */
function nonReader(f: ServerFixture, fetches: number, others: number): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect({ host: f.host, port: f.port });
  socket.pause();
  socket.on('error', () => {});
  const deadline = Date.now() + 30_000;
  const closed = (async () => {
    while (f.server.wire.connections <= others && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    while (f.server.wire.connections > others && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (Date.now() >= deadline) throw new Error(`still ${f.server.wire.connections} sessions`);
  })();
  closed.catch(() => {});
  socket.on('connect', () => {
    socket.write(encodeMessage({ type: 'hello', versions: [1], agent: 'stuck' }));
    socket.write(encodeMessage({ type: 'subscribe', id: 1, ref: 'main' }));
    for (let i = 0; i < fetches; i++) socket.write(encodeMessage({ type: 'fetch', id: i + 2, ref: 'main', ruleset: 'default' }));
  });
  return { socket, closed };
}

async function within<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('an agent that stops reading is dropped once it takes nothing for writeStallMs, while the agent beside it fetches and hears every push', async (t) => {
  const { logger, lines } = capturingLogger();
  const f = await startServerFixture(t, { logger, wire: { dropLogIntervalMs: 200, limits: { writeStallMs: 500 } } });
  f.push({ 'rulesets/default.json': bigRuleset(20, 'a') });
  const agent = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => agent.close());
  const moves: string[] = [];
  agent.on('moved', (_ref, commit) => moves.push(commit));
  await agent.subscribe('main');
  // 2,000 answers of 20 KiB: far more than the kernel buffers on loopback take.
  const stuck = nonReader(f, 2000, 1);
  t.after(() => stuck.socket.destroy());
  for (let i = 0; i < 3; i++) {
    const commit = f.push({ 'rulesets/default.json': bigRuleset(20, `b${i}`) });
    await within('the normal agent to hear the push', (async () => {
      for (let n = 0; n < 2000 && !moves.includes(commit); n++) await new Promise((r) => setTimeout(r, 10));
    })());
    assert.equal((await agent.fetch({ ref: 'main', ruleset: 'default' })).commit, commit);
  }
  await within('the server to drop the agent that does not read', stuck.closed);
  assert.equal(agent.closed, false);
  await within('the drop log line', (async () => {
    for (let n = 0; n < 1000 && dropped(lines, 'notReading') < 1; n++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(dropped(lines, 'notReading') >= 1);
  })());
});

test('an agent that leaves more than maxUnreadBytes of moved frames unread is dropped; the others keep theirs', async (t) => {
  const { logger, lines } = capturingLogger();
  const f = await startServerFixture(t, { logger, wire: { dropLogIntervalMs: 200, limits: { writeStallMs: 0, maxUnreadBytes: 1024 } } });
  f.push({ 'rulesets/default.json': bigRuleset(20, 'a') });
  const agent = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => agent.close());
  const moves: string[] = [];
  agent.on('moved', (_ref, commit) => moves.push(commit));
  await agent.subscribe('main');
  const stuck = nonReader(f, 2000, 1);
  t.after(() => stuck.socket.destroy());
  // Wait until its answers back up (the server then waits for a drain that never comes).
  await within('the stuck connection to back up', (async () => {
    for (let n = 0; n < 2000 && f.server.wire.connections < 2; n++) await new Promise((r) => setTimeout(r, 10));
  })());
  await new Promise((r) => setTimeout(r, 1000));
  // Each push heard by the normal agent before the next: one `moved` each (about 80 bytes).
  for (let i = 0; i < 30 && f.server.wire.connections > 1; i++) {
    const commit = f.push({ 'rulesets/default.json': bigRuleset(1, `m${i}`) });
    for (let n = 0; n < 2000 && !moves.includes(commit); n++) await new Promise((r) => setTimeout(r, 5));
  }
  await within('the server to drop the agent that does not read', stuck.closed);
  assert.equal(agent.closed, false);
  assert.ok((await agent.ping()) >= 0);
  await within('the drop log line', (async () => {
    for (let n = 0; n < 1000 && dropped(lines, 'notReading') < 1; n++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(dropped(lines, 'notReading') >= 1);
  })());
});
