/**
 * RolloutController.refsChanged with the refs its caller has just read (the server's ref watcher):
 * rollouts follow them without reading the refs again. The repository is a fake source (a map
 * of refs that counts its reads), named as such.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { RolloutController } from '../../../../server/rollout/rollout-controller.js';
import { parseRepoConfig } from '../../../../shared/config/repo-config.js';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const CONFIG = parseRepoConfig('rollouts:\n  main:\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n');

test('fake source: refsChanged(refs) takes the branches from the refs given, without reading them again; refsChanged() reads them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-rollouts-'));
  let reads = 0;
  let stored = new Map([['refs/heads/main', OLD]]);
  const c = new RolloutController({
    source: { gitdir: dir, listRefs: async () => (reads++, stored), resolveTrackedTag: async () => ({ tag: 'v1', commit: NEW }), repoConfig: async () => CONFIG },
    agents: () => [{ name: 'canary-1', connected: true }, { name: 'web-1', connected: true }],
    logger: pino({ level: 'silent' }),
    tickMs: 60_000,
  });
  await c.start();
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const target = () => c.list().find((r) => r.name === 'main')?.target.commit;
  assert.equal(target(), undefined, 'the tip at start is the baseline: no rollout');
  const before = reads;
  await c.refsChanged(new Map([['refs/heads/main', NEW], ['refs/tags/v1', NEW]]));
  assert.equal(reads, before, 'not read again');
  assert.equal(target(), NEW, 'the rollout of the new tip, taken from the refs given, started');
  const third = 'c'.repeat(40);
  stored = new Map([['refs/heads/main', third]]);
  await c.refsChanged();
  assert.equal(reads, before + 1, 'without refs: read');
  assert.equal(target(), third);
});
