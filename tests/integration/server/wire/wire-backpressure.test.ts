// tests/run.sh: serial (floods the server for seconds and waits on it: needs the CPU to itself, or its deadlines pass)
/**
 * Answers to small requests must respect back-pressure too: a client that sends pings (or
 * reports, or subscribes) as fast as it can and never reads its answers must not make the
 * server buffer those answers without bound. Real TCP on loopback; the session is built on
 * the server side of the socket so the test can read how much it has buffered.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { AgentRegistry } from '../../../../server/agents/agent-registry.js';
import { SubscriptionHub } from '../../../../server/wire/subscription-hub.js';
import type { RulesetSource } from '../../../../server/git/ruleset-source.js';
import { WireSession } from '../../../../server/wire/wire-session.js';
import { WIRE_SERVER_DEFAULTS } from '../../../../server/wire/wire-server.js';
import { waitFor } from '../../../helpers/wait-for.js';

const noSource: RulesetSource = {
  resolveRef: async () => { throw new Error('not used'); },
  resolveTrackedTag: async () => { throw new Error('not used'); },
  readRuleset: async () => { throw new Error('not used'); },
  rulesetForAgent: async () => 'default',
};

test('a client that floods pings and never reads its pongs leaves the server with a bounded write buffer', async (t) => {
  let serverSide: net.Socket | undefined;
  const server = net.createServer((socket) => {
    serverSide = socket;
    new WireSession(socket, {
      source: noSource,
      hub: new SubscriptionHub(async () => ''),
      registry: new AgentRegistry(),
      logger: pino({ level: 'silent' }),
      limits: { ...WIRE_SERVER_DEFAULTS.limits, heartbeatMs: 0 },
      serverName: 'test',
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    serverSide?.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const client = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  client.on('error', () => {});
  await new Promise<void>((r) => client.once('connect', () => r()));
  // Never read: the kernel buffers fill, then whatever the server still writes stays in its memory.
  client.pause();
  client.write(encodeMessage({ type: 'hello', versions: [1], agent: 'flood' }));
  const batch = Buffer.concat(Array.from({ length: 10_000 }, (_, i) => encodeMessage({ type: 'ping', id: i })));
  // About 48 MiB of pings (each answered by a pong of about the same size).
  const deadline = Date.now() + 5000;
  let sent = 0;
  while (sent < 48 * 1024 * 1024 && Date.now() < deadline) {
    if (!client.write(batch)) {
      // A drain or 200 ms, whichever comes first; the listener goes either way (they piled up).
      let onDrain!: () => void;
      await new Promise<void>((r) => {
        onDrain = r;
        client.once('drain', onDrain);
        setTimeout(r, 200);
      });
      client.off('drain', onDrain);
    }
    sent += batch.length;
    if (client.writableLength > 64 * 1024 * 1024) break;
  }
  assert.ok(serverSide, 'connected');
  const session = serverSide;
  // The event, not a guessed pause: the server stops reading once maxQueued requests wait on
  // answers the client does not take; from then on its write buffer cannot grow.
  await waitFor(() => session.isPaused(), { what: 'the server to stop reading the flood', timeoutMs: 10_000 });
  const buffered = session.writableLength;
  client.destroy();
  assert.ok(buffered < 4 * 1024 * 1024, `the server buffered ${buffered} bytes of answers for a client that does not read`);
});
