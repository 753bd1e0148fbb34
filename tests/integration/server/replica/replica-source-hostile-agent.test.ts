/**
 * Security: a hostile agent talking to a replica. Real primary and replica on loopback, raw
 * protocol clients. An agent that claims to have applied commits the mirror does not have makes
 * the replica ask the primary (the primary may have moved): the claims must not make it ask
 * faster than its pace, nor change what any other agent is served. Reports are coalesced per
 * agent before they go to the primary, so a flood of them is not multiplied there.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { startServer } from '../../../../server/start-server.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

test('security: an agent claiming commits the mirror lacks cannot make the replica poll the primary faster than its pace, nor change what others get', { timeout: 60_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000, notifications: false }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  await waitFor(() => replica.mirror!.polls >= 1, { what: "the replica's first poll (the next is in an hour)" });
  const main = await replica.repository.resolveRef('main');
  const port = replica.wireAddress.port;
  const hostile = await WireClient.connect({ host: '127.0.0.1', port, agent: 'hostile' });
  const honest = await WireClient.connect({ host: '127.0.0.1', port, agent: 'honest' });
  t.after(() => {
    hostile.close();
    honest.close();
  });
  const before = replica.mirror!.polls;
  const claims = 200;
  const t0 = performance.now();
  let done = false;
  let honestServed = 0;
  const flood = (async () => {
    for (let i = 0; i < claims; i += 1) {
      // A new made-up commit each time: none is in the mirror.
      const answer = await hostile.fetch({ ref: 'main', have: { commit: randomBytes(20).toString('hex'), blob: randomBytes(20).toString('hex') }, checkBehind: true });
      assert.equal(answer.kind === 'unchanged' && answer.behind, true, 'the made-up commit is kept for that agent only');
    }
    done = true;
  })();
  const others = (async () => {
    while (!done) {
      const answer = await honest.fetch({ ref: 'main' });
      assert.equal(answer.kind === 'ruleset' && answer.commit, main, 'another agent is served the mirror as usual');
      honestServed += 1;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all([flood, others]);
  const floodMs = performance.now() - t0;
  // Let a poll the last claims scheduled run.
  await new Promise((r) => setTimeout(r, SERVER_DEFAULTS.replica.minPollGapMs * 2));
  const polls = replica.mirror!.polls - before;
  t.diagnostic(`${claims} made-up claims in ${Math.round(floodMs)} ms: ${polls} polls of the primary; the honest agent was served ${honestServed} times`);
  // Paced: one poll per gap at most (a claim each used to cost a poll, back to back).
  const allowed = Math.ceil((floodMs + SERVER_DEFAULTS.replica.minPollGapMs * 2) / SERVER_DEFAULTS.replica.minPollGapMs) + 1;
  assert.ok(polls <= allowed, `${polls} polls of the primary for ${claims} claims in ${Math.round(floodMs)} ms (at most ${allowed})`);
  assert.ok(polls < claims / 4, `${polls} polls for ${claims} claims`);
  assert.ok(honestServed >= 1);
});

test('security: a flood of reports from one agent on a replica reaches the primary as a few batches, not one request each', { timeout: 60_000 }, async (t) => {
  const f = await startServerFixture(t, { http: LOOPBACK });
  const replica = await startServer({ repo: join(f.dir, 'mirror.git'), mirrorOf: { url: f.gitUrl!, pollMs: 3_600_000, notifications: false }, listen: LOOPBACK, logger: quietLogger, installHook: false });
  t.after(() => replica.close());
  const client = await WireClient.connect({ host: '127.0.0.1', port: replica.wireAddress.port, agent: 'chatty' });
  t.after(() => client.close());
  const reports = 500;
  const t0 = performance.now();
  for (let i = 0; i < reports; i += 1) {
    await client.report({ agent: 'chatty', ref: 'main', state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied', message: `report ${i}` }] });
  }
  const took = performance.now() - t0;
  await waitFor(() => f.server.wire.registry.get('chatty')?.status?.conditions[0]?.message === `report ${reports - 1}`, { what: 'the last report on the primary' });
  const forwarded = replica.forwarder!.forwarded;
  const allowed = Math.ceil(took / SERVER_DEFAULTS.replica.forwardMs) + 2;
  t.diagnostic(`${reports} reports in ${Math.round(took)} ms reached the primary as ${forwarded} forwarded reports`);
  assert.ok(forwarded <= allowed, `${forwarded} reports forwarded for ${reports} sent (at most ${allowed})`);
});
