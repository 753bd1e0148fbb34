// tests/run.sh: serial (its hostile sessions must be closed within 300 ms: needs the CPU to itself)
/**
 * A live WireServer on loopback fed 300 sessions of hostile bytes (tests/helpers/fuzz-inputs.ts),
 * half of them after a valid hello, 20 at a time. The server must survive, close every such
 * connection (or keep it open harmlessly until the client leaves), and still serve a good client.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { hostileInput } from '../../../helpers/fuzz-inputs.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

const SESSIONS = 300;
const PARALLEL = 20;
const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'fuzz' });

/** Send `bytes`, wait until the server closes or 300 ms pass, then leave. Resolves true if the server closed. */
function session(f: ServerFixture, bytes: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: f.host, port: f.port }, () => s.write(bytes));
    const timer = setTimeout(() => (s.destroy(), resolve(false)), 300);
    s.on('error', () => {});
    s.resume();
    s.on('close', () => (clearTimeout(timer), resolve(true)));
  });
}

test(`a live server survives ${SESSIONS} hostile sessions and then serves a good client`, async (t) => {
  const f = await startServerFixture(t, { wire: { limits: { handshakeTimeoutMs: 250 } } });
  const inputs = fc.sample(fc.tuple(hostileInput, fc.boolean()), { numRuns: SESSIONS, seed: 99 });
  let closed = 0;
  for (let i = 0; i < inputs.length; i += PARALLEL) {
    const batch = inputs.slice(i, i + PARALLEL).map(([bytes, afterHello]) => session(f, afterHello ? Buffer.concat([hello, bytes]) : bytes));
    closed += (await Promise.all(batch)).filter(Boolean).length;
  }
  t.diagnostic(`${closed} of ${SESSIONS} hostile sessions were closed by the server within 300 ms`);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'good' });
  t.after(() => c.close());
  await c.ping();
  const r = await c.fetch({ ref: 'main', ruleset: 'default' });
  assert.equal(r.kind === 'ruleset' && r.blob, gitBlobId(readFileSync('repo-template/rulesets/default.json')));
  assert.ok(closed > SESSIONS / 2, `the server closed ${closed} sessions`);
});
