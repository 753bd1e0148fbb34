/**
 * Security: a damaged GIT_DIR/nft-sync/rollouts.json (cut short by a full disk, edited by hand,
 * left by another version) must not crash the server or break the rollout API. Real files in a
 * temporary directory; the repository is a fake source (a map of refs), named as such.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { RolloutController } from '../../../../server/rollout/rollout-controller.js';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const GOOD = { name: 'main', previous: { commit: OLD }, target: { commit: NEW }, hold: 0, waves: [{ agents: ['canary-1'], patterns: ['canary-*'], startedAt: 1 }, { agents: ['web-1'] }], wave: 0, phase: 'running', startedAt: 1, appliedAt: {} };

test('security (fake source): a damaged rollouts.json at start drops the damaged entries, keeps the good one, and nothing throws on tick, list or fetch', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-rollouts-'));
  mkdirSync(join(dir, 'nft-sync'));
  const damaged = [
    { name: 'staging', phase: 'running' },
    { ...GOOD, name: 'dev', waves: [{ agents: ['x'], patterns: ['[unclosed'] }] },
    { ...GOOD, name: 'qa', wave: 'one' },
    null,
    { ...GOOD, name: '__proto__', waves: 'many' },
  ];
  writeFileSync(join(dir, 'nft-sync', 'rollouts.json'), JSON.stringify({ version: 1, rollouts: [...damaged, GOOD] }));
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const refs = new Map([['refs/heads/main', NEW], ['refs/heads/staging', NEW], ['refs/heads/dev', NEW], ['refs/heads/qa', NEW]]);
  const c = new RolloutController({
    source: { gitdir: dir, listRefs: async () => refs, resolveTrackedTag: async () => ({ tag: 'v1', commit: NEW }), repoConfig: async () => undefined },
    agents: () => [{ name: 'canary-2', connected: true }, { name: 'web-1', connected: true }],
    logger,
    tickMs: 60_000,
  });
  await c.start();
  // One hook, in order: the controller's last save lands before its directory goes.
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  c.tick();
  assert.deepEqual(c.list().map((r) => r.name), ['main']);
  assert.deepEqual(await c.revisionFor('canary-2', 'main', { commit: NEW }), { commit: NEW });
  assert.deepEqual(await c.revisionFor('web-1', 'main', { commit: NEW }), { commit: OLD });
  for (const branch of ['staging', 'dev', 'qa']) assert.deepEqual(await c.revisionFor('web-1', branch, { commit: NEW }), { commit: NEW });
  assert.ok(warnings.some((w) => w.includes('NFTSYNC_ERR_ROLLOUT_STATE_FILE')), warnings.join('\n'));
});
