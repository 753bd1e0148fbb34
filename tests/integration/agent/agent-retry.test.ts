/**
 * A failure that may pass by itself is retried with backoff while the agent stays connected,
 * without waiting for the ref to move. The transient fault is an nft that hangs (simulated: a
 * wrapper that sleeps instead of running nft while a flag file exists; a real nft cannot be made
 * to hang on demand), cut short by the runner's timeout (NFTSYNC_ERR_TIMEOUT, retryable).
 */
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runAgentDaemon } from '../../../agent/agent-daemon.js';
import { createNftRunner } from '../../../host/nft-runner.js';
import type { ReconcileOutcome } from '../../../agent/reconcile/reconciler.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { waitUntil } from '../../helpers/wait-for.js';

test('a hung nft (simulated) times out, and the agent retries with backoff until it applies, with no ref move', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'retry');
  const dir = makeTempDir(t, 'nft-sync-retry-');
  const flag = join(dir, 'hang');
  const wrapper = join(dir, 'nft-wrapper.sh');
  writeFileSync(flag, '');
  writeFileSync(wrapper, `#!/bin/sh\nif [ -e '${flag}' ]; then exec sleep 30; fi\nexec ip netns exec ${ns.name} nft "$@"\n`);
  chmodSync(wrapper, 0o755);
  const outcomes: ReconcileOutcome[] = [];
  const ac = new AbortController();
  const done = runAgentDaemon(
    {
      host: f.host, port: f.port, agent: 'host-1', ref: 'main',
      // 3 s for every run, the real ones too (a loaded machine); the hang (sleep 30) still ends in a timeout.
      nft: createNftRunner(wrapper, { timeoutMs: 3000 }),
      stateDir: join(dir, 'state'), logger: quietLogger, watchDrift: false, confirmWindowMs: 0,
      backoff: { baseMs: 100, capMs: 300 },
      onOutcome: (o) => outcomes.push(o),
    },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await done;
  });
  // 15 s each: a hung run takes its 3 s time limit, and a retry its backoff, on a loaded machine.
  const until = (pred: () => boolean, what: string) =>
    waitUntil(what, pred, 15_000).catch((err: Error) => assert.fail(`${err.message}: got ${JSON.stringify(outcomes.map((o) => (o.kind === 'failed' ? o.error.code : o.kind)))}`));
  await until(() => outcomes.some((o) => o.kind === 'failed' && o.error.code === 'NFTSYNC_ERR_NFT_TIMEOUT'), 'a timeout');
  await until(() => outcomes.filter((o) => o.kind === 'failed').length >= 2, 'a retry while connected');
  rmSync(flag);
  await until(() => outcomes.some((o) => o.kind === 'applied'), 'applied once nft answers again');
  assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
  assert.equal(f.server.wire.registry.get('host-1')?.status?.state, 'Applied');
});
