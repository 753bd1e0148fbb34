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
      nft: createNftRunner(wrapper, { timeoutMs: 500 }),
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
  const until = async (pred: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) assert.fail(`${what}: got ${JSON.stringify(outcomes.map((o) => (o.kind === 'failed' ? o.error.code : o.kind)))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => outcomes.some((o) => o.kind === 'failed' && o.error.code === 'NFTSYNC_ERR_NFT_TIMEOUT'), 5000, 'a timeout');
  await until(() => outcomes.filter((o) => o.kind === 'failed').length >= 2, 5000, 'a retry while connected');
  rmSync(flag);
  await until(() => outcomes.some((o) => o.kind === 'applied'), 5000, 'applied once nft answers again');
  assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
  assert.equal(f.server.wire.registry.get('host-1')?.status?.state, 'Applied');
});
