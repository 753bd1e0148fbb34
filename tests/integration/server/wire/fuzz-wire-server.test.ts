// tests/run.sh: serial (300 hostile sessions, each waited on up to 1.5 s, against a 250 ms handshake deadline: needs the CPU to itself)
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
/** The server's handshake deadline here. */
const HANDSHAKE_MS = 250;
/** How long a session waits for the server to close it: well past that deadline, so a loaded machine does not turn a close into a leave. */
const WAIT_MS = 1500;

/** Send `bytes`, wait until the server closes or WAIT_MS pass, then leave. Resolves true if the server closed. */
function session(f: ServerFixture, bytes: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: f.host, port: f.port }, () => s.write(bytes));
    const timer = setTimeout(() => (s.destroy(), resolve(false)), WAIT_MS);
    s.on('error', () => {});
    s.resume();
    s.on('close', () => (clearTimeout(timer), resolve(true)));
  });
}

test(`a live server survives ${SESSIONS} hostile sessions and then serves a good client`, async (t) => {
  const f = await startServerFixture(t, { wire: { limits: { handshakeTimeoutMs: HANDSHAKE_MS } } });
  const inputs = fc.sample(fc.tuple(hostileInput, fc.boolean()), { numRuns: SESSIONS, seed: 99 });
  let closed = 0;
  // PARALLEL sessions at all times, each starting the next when it ends: a session the server
  // keeps open (harmlessly) holds one of them for WAIT_MS, not a whole batch.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const [bytes, afterHello] = inputs[next++]!;
      if (await session(f, afterHello ? Buffer.concat([hello, bytes]) : bytes)) closed += 1;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  t.diagnostic(`${closed} of ${SESSIONS} hostile sessions were closed by the server within ${WAIT_MS} ms`);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'good' });
  t.after(() => c.close());
  await c.ping();
  const r = await c.fetch({ ref: 'main', ruleset: 'default' });
  assert.equal(r.kind === 'ruleset' && r.blob, gitBlobId(readFileSync('repo-template/rulesets/default.json')));
  assert.ok(closed > SESSIONS / 2, `the server closed ${closed} sessions`);
});
