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
  const done = runAgentDaemon(
    { host: '127.0.0.1', port, agent: 'a', ref: 'main', nft: createNftRunner(ns.nftCommand), stateDir: dir, logger: quietLogger, backoff: { baseMs: 200, capMs: 400 } },
    ac.signal,
  );
  await new Promise((r) => setTimeout(r, 2000));
  ac.abort();
  await done;
  // Delays are at least 100, 200, then 200 ms (half the capped bound): at most ~10 attempts in 2 s.
  assert.ok(attempts >= 3, `only ${attempts} attempts`);
  assert.ok(attempts <= 12, `${attempts} attempts in 2 s is a busy loop`);
  assert.equal(ns.nft(['list', 'ruleset']), '', 'nothing applied without a server');
});
