/**
 * Stopping the agent daemon while a pass is inside its confirm window: runAgentDaemon resolves
 * only once that pass is over, so nothing touches nft after it said it stopped. A real server,
 * real nft in a throwaway namespace; the confirm probe is aimed at a closed port to stand in
 * for a lockout (the test process cannot really be cut off by the namespace's ruleset).
 */
import { childPidsRunning } from '../../helpers/child-pids.js';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runAgentDaemon } from '../../../agent/agent-daemon.js';
import { wireProbe } from '../../../agent/reconcile/confirm-revision.js';
import { createNftRunner, type NftRunner } from '../../../host/nft-runner.js';
import { WireClient } from '../../../agent/wire/wire-client.js';
import type { ReconcileOutcome } from '../../../agent/reconcile/reconciler.js';
import { freePort } from '../../helpers/cli-process.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { waitForEvent, waitUntil } from '../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

test('stopped inside a confirm window, the daemon resolves only after the pass ended (rolled back), never before (probe aimed at a closed port stands in for a lockout)', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'stop');
  const dir = makeTempDir(t, 'nft-sync-state-');
  const closed = await freePort();
  let probePort = f.port;
  // 'window' from each probe aimed at the closed port: the second revision's confirm window is
  // open, so that revision is in force and is not rolled back before the window's end.
  const probes = new EventEmitter();
  const outcomes: ReconcileOutcome[] = [];
  const ac = new AbortController();
  // The daemon's nft, recording every call made after runAgentDaemon resolved.
  let resolved = false;
  const late: string[] = [];
  const real = createNftRunner(ns.nftCommand);
  const nft = new Proxy(real, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (resolved) late.push(String(key));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as NftRunner;
  const done = runAgentDaemon(
    {
      host: f.host,
      port: f.port,
      agent: 'host-1',
      ref: 'main',
      nft,
      stateDir: dir,
      logger: quietLogger,
      watchDrift: false,
      confirm: {
        windowMs: 1500,
        probe: (ms) => {
          if (probePort === closed) probes.emit('window', performance.now());
          return wireProbe({ host: f.host, port: probePort })(ms);
        },
      },
      onOutcome: (o) => outcomes.push(o),
    },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await done;
  });
  const listed = () => ns.nft(['list', 'table', 'inet', 'nft_sync']);
  await waitUntil('the first revision confirmed', () => outcomes.length === 1);
  assert.equal(outcomes[0]?.kind, 'applied');
  const before = listed();
  // The next revision (a pass started by 'moved') cannot be confirmed; stop inside its window.
  probePort = closed;
  const inWindow = waitForEvent<[number]>(probes, 'window', () => true, { what: 'the second revision\'s confirm window', timeoutMs: 15_000 });
  f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'cut off (pretend)');
  // Not a poll of the listing, which a slow poll could miss: the window's first probe says so.
  // From here to the abort no turn of the event loop, so no window's end, comes between.
  const [opened] = await inWindow;
  assert.match(listed(), /dport 2222/, 'the second revision in force, unconfirmed');
  ac.abort();
  t.diagnostic(`stopped ${Math.round(performance.now() - opened)} ms into the 1.5 s confirm window`);
  await done;
  resolved = true;
  const atStop = listed();
  assert.equal(outcomes.length, 2, 'the pass in flight ended before the daemon resolved');
  assert.equal(outcomes[1]?.kind === 'failed' && outcomes[1].error.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  assert.equal(atStop, before, 'the unconfirmed revision was rolled back before the daemon resolved');
  // Sentinel instead of a sleep: a third revision, which a daemon still running would apply on
  // 'moved'; a watcher subscribed to main hears it, so the server has told every subscriber.
  const watcher = await WireClient.connect({ host: f.host, port: f.port, agent: 'sentinel' });
  t.after(() => watcher.close());
  await watcher.subscribe('main');
  const heard = new Promise<string>((r) => watcher.on('moved', (_ref, commit) => r(commit)));
  const third = f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2223') }, 'after the stop');
  assert.equal(await heard, third);
  assert.deepEqual(late, [], 'the daemon ran nothing in nft after it resolved');
  assert.equal(listed(), atStop, 'nothing changed nft after the daemon resolved');
});


test('the nft the daemon keeps waiting for its next load (warmLoads) is started after a pass, applies the next revision with no drift reported, and is gone once the daemon resolved', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'stopwarm');
  const dir = makeTempDir(t, 'nft-sync-state-');
  const outcomes: ReconcileOutcome[] = [];
  const drifts: unknown[] = [];
  let listening = false;
  const ac = new AbortController();
  const done = runAgentDaemon(
    { host: f.host, port: f.port, agent: 'host-1', ref: 'main', nft: createNftRunner(ns.nftCommand, { warmLoads: true }), stateDir: dir, logger: quietLogger, confirmWindowMs: 0, onOutcome: (o) => outcomes.push(o), onDrift: (d) => drifts.push(d), onDriftListening: () => (listening = true) },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await done;
  });
  await waitUntil('the first revision applied', () => outcomes.length === 1);
  assert.equal(outcomes[0]?.kind, 'applied');
  await waitUntil('the drift listener listening', () => listening);
  await waitUntil('an nft waiting for the next load', () => childPidsRunning().length === 1);
  const [waiting] = childPidsRunning();
  f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'v2');
  await waitUntil('the second revision applied', () => outcomes.length === 2);
  assert.equal(outcomes[1]?.kind, 'applied');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /dport 2222/);
  await waitUntil('another nft waiting', () => childPidsRunning().some((p) => p !== waiting));
  // The drift watcher has seen the transaction by now; give a foreign one's report time to come.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(drifts, [], 'no drift reported after the load through the waiting nft');
  ac.abort();
  await done;
  assert.deepEqual(childPidsRunning(), [], 'no nft left behind');
});
