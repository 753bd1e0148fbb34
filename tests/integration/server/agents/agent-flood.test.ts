/**
 * Status reports are bounded, and `GET /api/v1/agents` and `nft-sync status` keep working
 * whatever clients send. Real server with its HTTP API on loopback, real sockets.
 *
 * Why the endpoint used to answer 500: 5,000 reports of the largest size the report schema
 * allows (32 conditions of 4,096 characters, about 135 KB each) made a 675 MB answer, past V8's
 * longest string (about 512 MiB): JSON.stringify threw RangeError. Now a client frame is at most
 * 64 KiB, a report's status at most 16 KiB and the registry at most --max-agents entries, so the
 * answer stays within reach.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { MAX_REPORT_BYTES, SERVER_MESSAGE_TYPES, type AgentStatus, type ServerMessage } from '../../../../shared/wire/messages.js';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

/** A status with `n` conditions whose messages are `len` characters long. */
function status(agent: string, n: number, len: number): AgentStatus {
  const conditions = Array.from({ length: n }, (_, i) => ({ type: `C${String.fromCharCode(65 + (i % 26))}x${'a'.repeat(i)}`.slice(0, 60), status: 'False' as const, reason: 'Failed', message: 'x'.repeat(len) }));
  return { agent, ref: 'main', state: 'Failed', conditions };
}

/** Connect, hello as `agent`, send `frame`; resolve with the first error code the server sends (or 'ack'), once closed or answered. */
function reportAs(port: number, agent: string, frame: Buffer, from = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
    let answer = 'none';
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => s.end(Buffer.concat([encodeMessage({ type: 'hello', versions: [1], agent }), frame])));
    s.on('error', () => {});
    s.on('data', (c) => {
      for (const { message } of reader.push(c)) {
        if (message.type === 'error' && answer === 'none') answer = message.code;
        if (message.type === 'ack') answer = 'ack';
      }
      if (answer !== 'none') s.destroy();
    });
    s.on('close', () => resolve(answer));
  });
}

test('5,000 reports under new names, each as large as the report schema allows: /api/v1/agents and nft-sync status keep answering', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const http = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const answers = new Map<string, number>();
  const N = 5000;
  for (let i = 0; i < N; i += 50) {
    const batch = Array.from({ length: Math.min(50, N - i) }, (_, k) => {
      const agent = `flood-${i + k}`;
      // From 100 addresses, so the per-address connection cap is not what stops them.
      return reportAs(f.port, agent, encodeMessage({ type: 'report', id: 1, status: status(agent, 32, 4096) }), `127.0.0.${2 + (k % 100)}`);
    });
    for (const a of await Promise.all(batch)) answers.set(a, (answers.get(a) ?? 0) + 1);
  }
  assert.deepEqual([...answers], [['NFTSYNC_ERR_FRAME_TOO_LARGE', N]], 'every oversized report refused at its header');
  const res = await fetch(`${http}/api/v1/agents`);
  assert.equal(res.status, 200);
  const { agents } = (await res.json()) as { agents: Array<{ status?: unknown }> };
  assert.ok(agents.every((a) => a.status === undefined), 'no oversized report kept');
  const cli = await runCli(['status', '--http', http, '--json'], { timeoutMs: 60_000 });
  // Exit 3: the agents listed have no report kept, so none is Ready; the listing itself works.
  assert.equal(cli.code, 3, cli.stderr);
  assert.ok(Array.isArray((JSON.parse(cli.stdout) as { agents: unknown[] }).agents));
});

test('a report of at most 16 KiB is kept; a larger one in a legal frame is refused with MSG_INVALID and the connection stays', async (t) => {
  const f = await startServerFixture(t);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  // Two 4,096-character messages: what an agent sends at most (Ready and Drifted).
  const fits = status('web-1', 2, 4096);
  assert.ok(JSON.stringify(fits).length <= MAX_REPORT_BYTES);
  await c.report(fits);
  await assert.rejects(c.report(status('web-1', 8, 4096)), { code: 'NFTSYNC_ERR_MSG_INVALID' });
  assert.equal(f.server.wire.registry.get('web-1')?.status?.conditions.length, 2);
  assert.ok((await c.ping()) >= 0);
});

test('a full registry (--max-agents) refuses new names with AGENT_REGISTRY_FULL; the API lists those it keeps', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, maxAgents: 40 });
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => reportAs(f.port, `agent-${i}`, encodeMessage({ type: 'report', id: 1, status: status(`agent-${i}`, 1, 100) }))),
  );
  assert.equal(answers.filter((a) => a === 'ack').length, 40);
  assert.equal(answers.filter((a) => a === 'NFTSYNC_ERR_AGENT_REGISTRY_FULL').length, 10);
  const res = await fetch(`http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/agents`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { agents: unknown[] }).agents.length, 40);
});
