/**
 * The whole fleet from any server: a replica forwards its agents' reports to the primary, which
 * lists them (with `via`, the replica), and the replica's GET /api/v1/agents answers the
 * primary's list, so agents of the primary show there too. Real primary, replica and agents
 * applying with the real nft in throwaway namespaces.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentList } from '../../../../shared/http/http-api.js';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { startServer } from '../../../../server/start-server.js';
import { AgentRegistry } from '../../../../server/agents/agent-registry.js';
import { ReportForwarder } from '../../../../server/replica/report-forwarder.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { startTestAgent } from '../../../helpers/test-agent.js';
import { waitFor } from '../../../helpers/wait-for.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

async function agents(port: number): Promise<AgentList['agents']> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/agents`);
  assert.equal(res.status, 200);
  return ((await res.json()) as AgentList).agents;
}

test('any server lists the whole fleet: a replica forwards its agents\' reports to the primary', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, http: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  const via = `127.0.0.1:${replica.wireAddress.port}`;
  const onReplica = startTestAgent(t, { agent: 'edge-1', host: '127.0.0.1', port: replica.wireAddress.port, nft: createNetns(t, 'fleet1').nftCommand });
  const onPrimary = startTestAgent(t, { agent: 'core-1', host: f.host, port: f.port, nft: createNetns(t, 'fleet2').nftCommand });
  const applied = await onReplica.next((o) => o.kind === 'applied', 5000, true);
  await onPrimary.next((o) => o.kind === 'applied', 5000, true);
  const primaryPort = f.server.httpAddress!.port;
  const replicaPort = replica.httpAddress!.port;
  // The primary keeps the replica's agent, marked as reporting through it.
  const edge = await waitFor(async () => (await agents(primaryPort)).find((a) => a.name === 'edge-1' && a.status?.state === 'Applied'), { what: 'edge-1 on the primary' });
  assert.equal(edge.via, via);
  assert.equal(edge.connected, true);
  assert.equal(edge.status?.commit, applied.kind === 'applied' ? applied.commit : '');
  // The replica answers for the whole fleet, the primary's own agents included.
  const seen = await waitFor(async () => {
    const list = await agents(replicaPort);
    return list.some((a) => a.name === 'core-1') && list.some((a) => a.name === 'edge-1') ? list : undefined;
  }, { what: 'both agents on the replica' });
  assert.deepEqual(seen.map((a) => a.name), ['core-1', 'edge-1']);
  assert.equal(seen.find((a) => a.name === 'core-1')!.via, undefined, 'core-1 is the primary\'s own');
  const one = await fetch(`http://127.0.0.1:${replicaPort}/api/v1/agents/core-1`);
  assert.equal(one.status, 200);
  // An agent leaving the replica shows as disconnected on the primary.
  await onReplica.stop();
  await waitFor(async () => (await agents(primaryPort)).find((a) => a.name === 'edge-1')?.connected === false, { what: 'edge-1 disconnected on the primary' });
});

test('security: 200 clients asking a replica for the fleet at once make one request to the primary per fleetCacheMs, not 200', async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl! }, listen: LOOPBACK, http: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  const port = replica.httpAddress!.port;
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? agents(port) : fetch(`http://127.0.0.1:${port}/api/v1/agents/nobody`).then((r) => r.status))));
  assert.equal(answers.length, 200);
  const took = performance.now() - t0;
  const asked = replica.forwarder!.fleetRequests;
  t.diagnostic(`primary asked ${asked} times for 200 requests in ${Math.round(took)} ms`);
  assert.ok(asked <= Math.ceil(took / SERVER_DEFAULTS.replica.fleetCacheMs), `${asked} requests for the whole fleet at the primary`);
  await new Promise((r) => setTimeout(r, SERVER_DEFAULTS.replica.fleetCacheMs + 100));
  await agents(port);
  assert.equal(replica.forwarder!.fleetRequests, asked + 1, 'asked again once the list is older than fleetCacheMs');
});

test('security (fake primary): an endless answer to a batch of reports is dropped after 64 KiB, not buffered; the reports are sent again', { timeout: 60_000 }, async (t) => {
  let posts = 0;
  const closedAfter: number[] = [];
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const fake = http.createServer((req, res) => {
    posts += 1;
    req.resume();
    let sent = 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => {
      // At most 256 MiB, so a forwarder without the bound cannot take the machine down.
      while (sent < 256 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return;
      }
      res.end();
    };
    res.on('drain', pump);
    res.on('close', () => closedAfter.push(sent));
    pump();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (fake.closeAllConnections(), fake.close(() => r()))));
  const registry = new AgentRegistry();
  const forwarder = new ReportForwarder({ primary: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`, via: 'r', registry, logger: quietLogger, intervalMs: 50 });
  t.after(() => forwarder.stop());
  registry.report({ agent: 'edge-1', ref: 'main', state: 'Applied', conditions: [] }, '127.0.0.1');
  forwarder.changed('edge-1');
  await waitFor(() => closedAfter.length >= 1, { what: 'the forwarder to drop the answer', timeoutMs: 20_000 });
  t.diagnostic(`bytes sent before the forwarder closed: ${closedAfter[0]}`);
  assert.ok(closedAfter[0]! <= 8 * 1024 * 1024, `the forwarder read ${closedAfter[0]} bytes of the answer`);
  assert.equal(forwarder.forwarded, 0);
  await waitFor(() => posts >= 2, { what: 'the report sent again' });
});
