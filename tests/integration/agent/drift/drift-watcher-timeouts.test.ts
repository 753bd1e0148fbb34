/**
 * Element timeouts with real nft in a throwaway namespace: a revision declares a set element with
 * a 1 s timeout and a set whose elements take its 1 s default. Each load adds them for that long;
 * the kernel then removes them without an event. The agent must not take the expiry for drift:
 * no drift report, no heal (which would renew the element for ever), and periodic checks that
 * find the tables otherwise as declared. A change by hand is still drift, and its heal (a load of
 * the revision) adds the expiring elements again, for their timeout: deliberate, see README.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runAgentDaemon } from '../../../../agent/agent-daemon.js';
import type { DriftReport } from '../../../../agent/drift/drift-watcher.js';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { waitUntil } from '../../../helpers/wait-for.js';

const DEFAULT = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
const set = (name: string, extra: Record<string, unknown>) => ({ set: { family: 'inet', table: 'nft_sync', name, type: 'ipv4_addr', ...extra } });
const REVISION = `${JSON.stringify(
  {
    nftables: [
      ...DEFAULT.nftables,
      set('tmo', { flags: ['timeout'], elem: [{ elem: { val: '198.18.0.1', timeout: 1 } }, '198.18.0.2'] }),
      set('dflt', { flags: ['timeout'], timeout: 1, elem: ['198.18.0.3'] }),
    ],
  },
  null,
  2,
)}\n`;

test('an element that expires in the kernel is not drift: not reported, not healed, not re-added by periodic checks', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': REVISION }, 'expiring elements');
  const ns = createNetns(t, 'tmo');
  const drifts: DriftReport[] = [];
  const outcomes: ReconcileOutcome[] = [];
  let loads = 0;
  const nft = createNftRunner(ns.nftCommand).withHooks({ aroundApply: (_b, load) => ((loads += 1), load()) });
  const ac = new AbortController();
  const done = runAgentDaemon(
    {
      host: f.host, port: f.port, agent: 'host-1', ref: 'main', nft, stateDir: makeTempDir(t, 'nft-sync-state-'), logger: quietLogger,
      confirmWindowMs: 0, driftIntervalMs: 250, onDrift: (d) => drifts.push(d), onOutcome: (o) => outcomes.push(o),
    },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await done;
  });
  await waitUntil('applied', () => outcomes.some((o) => o.kind === 'applied'), 15_000);
  const applied = outcomes.find((o) => o.kind === 'applied');
  assert.ok(applied?.kind === 'applied' && applied.apply.readback.ok !== false, `read back equal while the elements live: ${JSON.stringify(applied)}`);
  const list = (name: string) => ns.nft(['list', 'set', 'inet', 'nft_sync', name]);
  // Expired, and then several periodic checks (every 250 ms) while nothing else changes.
  await waitUntil('both expiring elements gone', () => !list('tmo').includes('198.18.0.1') && !list('dflt').includes('198.18.0.3'), 5000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(drifts, [], 'the expiry was taken for drift');
  assert.equal(loads, 1, 'the agent loaded the revision again');
  assert.doesNotMatch(list('tmo'), /198\.18\.0\.1\b/, 'the expired element was re-added');
  assert.match(list('tmo'), /198\.18\.0\.2/);

  // A change by hand is still drift; its heal loads the revision, expiring elements included.
  ns.nft(['delete', 'element', 'inet', 'nft_sync', 'tmo', '{ 198.18.0.2 }']);
  // (The listing that shows the heal is the one checked: the heal's element lives only a second.)
  let healed = '';
  await waitUntil('the hand change healed', () => drifts.length > 0 && (healed = list('tmo')).includes('198.18.0.2'), 10_000);
  assert.deepEqual((drifts as DriftReport[])[0]?.differences, ['set inet nft_sync tmo: 1 element(s) removed ("198.18.0.2")']);
  assert.match(healed, /198\.18\.0\.1 timeout 1s/, 'the heal adds it again for its timeout');
});
