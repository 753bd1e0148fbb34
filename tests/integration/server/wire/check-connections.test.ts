/**
 * The total connection cap (--max-connections) never refuses a lockout guard's check: past the
 * cap, a connection whose hello says `check` is let into room kept for checks, answers one ping
 * and is closed; any other is refused with NFTSYNC_ERR_SERVER_BUSY naming the total cap (not the
 * address), and the refusals are counted in the rate-limited drop log. Real servers on loopback,
 * real sockets, the agent's own probe (confirm-revision.ts wireProbe), plain TCP and mutual TLS.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { wireProbe } from '../../../../agent/reconcile/confirm-revision.js';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { clientTlsOptions, serverTlsOptions } from '../../../../cli/tls-flags.js';
import { testPki } from '../../../helpers/pki-fixture.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

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

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('at the total cap, the agent\'s check connection gets in and is closed after its pong; another connection gets SERVER_BUSY naming the total cap, logged once per interval', async (t) => {
  const { logger, lines } = capturingLogger();
  const f = await startServerFixture(t, { logger, wire: { maxConnections: 4, checkConnections: 2, dropLogIntervalMs: 200 } });
  const agents = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((agent) => WireClient.connect({ host: f.host, port: f.port, agent })));
  t.after(() => agents.forEach((a) => a.close()));
  for (const a of agents) await a.subscribe('main');
  const probe = wireProbe({ host: f.host, port: f.port, agent: 'a1' });
  for (let i = 0; i < 5; i++) await probe(5000);
  await until('the check connections to be closed by the server', () => f.server.wire.overCapConnections === 0);
  // Ten checks at once: at most two over the cap at a time, and the agent's guard tries again.
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => probe(5000)));
  const refused = results.filter((r) => r.status === 'rejected').length;
  assert.ok(refused <= 8, `${refused} of 10 simultaneous checks refused`);
  // A connection that is not a check is refused, and the error says why.
  await assert.rejects(WireClient.connect({ host: f.host, port: f.port, agent: 'a5' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'NFTSYNC_ERR_SERVER_BUSY');
    assert.match(err.message, /--max-connections 4/);
    assert.match(err.message, /not this address/);
    return true;
  });
  // A check connection only pings.
  const check = await WireClient.connect({ host: f.host, port: f.port, agent: 'a1', check: true });
  await assert.rejects(check.fetch({ ref: 'main' }), { code: 'NFTSYNC_ERR_MSG_UNEXPECTED' });
  check.close();
  for (const a of agents) assert.ok((await a.ping()) >= 0, 'the agents keep their connections');
  await until('the drop log line', () => dropped(lines, 'globalCap') >= 1);
  assert.ok(lines.filter((l) => l.msg === 'wire connections dropped').length <= 3, 'refusals logged one line per interval');
});

test('over the per-address cap, SERVER_BUSY names the address\'s cap and says the server has room', async (t) => {
  const f = await startServerFixture(t, { wire: { maxConnectionsPerAddress: 2 } });
  const agents = await Promise.all(['a1', 'a2'].map((agent) => WireClient.connect({ host: f.host, port: f.port, agent })));
  t.after(() => agents.forEach((a) => a.close()));
  await assert.rejects(WireClient.connect({ host: f.host, port: f.port, agent: 'a3' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'NFTSYNC_ERR_SERVER_BUSY');
    assert.match(err.message, /too many connections from 127\.0\.0\.1.*--max-connections-per-address 2.*the server itself has room/);
    return true;
  });
});

test('under mutual TLS too, a full server takes the agent\'s check and refuses another agent with SERVER_BUSY', async (t) => {
  const pki = await testPki(t, ['web-1', 'web-2', 'web-3']);
  const f = await startServerFixture(t, { tls: serverTlsOptions(pki.material('127.0.0.1')), wire: { maxConnections: 2, checkConnections: 1 } });
  const tlsFor = (name: string) => clientTlsOptions(pki.material(name), '127.0.0.1');
  const agents = await Promise.all(['web-1', 'web-2'].map((agent) => WireClient.connect({ host: f.host, port: f.port, agent, tls: tlsFor(agent) })));
  t.after(() => agents.forEach((a) => a.close()));
  for (const a of agents) await a.subscribe('main');
  await wireProbe({ host: f.host, port: f.port, agent: 'web-1', tls: tlsFor('web-1') })(5000);
  await until('the check connection to be closed', () => f.server.wire.overCapConnections === 0);
  await assert.rejects(WireClient.connect({ host: f.host, port: f.port, agent: 'web-3', tls: tlsFor('web-3') }), { code: 'NFTSYNC_ERR_SERVER_BUSY' });
});
