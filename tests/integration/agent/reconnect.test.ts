/**
 * The agent's reconnect loop against a real TCP listener on loopback that accepts and drops
 * every connection (a server in trouble): the attempts must be spaced by the capped, jittered
 * backoff, never a busy loop, and the ruleset in force must stay.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { runAgentDaemon } from '../../../agent/agent-daemon.js';
import { createNftRunner } from '../../../host/nft-runner.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger } from '../../helpers/server-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { waitUntil } from '../../helpers/wait-for.js';

test('a server that drops every connection gets a bounded number of attempts', async (t) => {
  let attempts = 0;
  const dropper = net.createServer((s) => {
    attempts += 1;
    s.destroy();
  });
  await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
  t.after(() => dropper.close());
  const { port } = dropper.address() as net.AddressInfo;
  const ns = createNetns(t, 'retry');
  const dir = makeTempDir(t, 'nft-sync-state-');
  const ac = new AbortController();
  const t0 = performance.now();
  const done = runAgentDaemon(
    { host: '127.0.0.1', port, agent: 'a', ref: 'main', nft: createNftRunner(ns.nftCommand), stateDir: dir, logger: quietLogger, backoff: { baseMs: 200, capMs: 400 } },
    ac.signal,
  );
  // It keeps trying (a few attempts, however slow the machine), then stops when told.
  await waitUntil('three attempts', () => attempts >= 3, 10_000);
  ac.abort();
  await done;
  const ms = performance.now() - t0;
  t.diagnostic(`${attempts} attempts in ${Math.round(ms)} ms`);
  // No faster than the backoff allows: the delays are at least 100, then 200 ms each (half the
  // bound, which doubles from 200 to its 400 ms cap). So after the first attempt at most one in
  // the first 100 ms and one per 200 ms after that (195: timers may fire a little early).
  const most = 2 + Math.floor(Math.max(0, ms - 100) / 195);
  assert.ok(attempts <= most, `${attempts} attempts in ${Math.round(ms)} ms is faster than the backoff allows (at most ${most})`);
  assert.equal(ns.nft(['list', 'ruleset']), '', 'nothing applied without a server');
});
