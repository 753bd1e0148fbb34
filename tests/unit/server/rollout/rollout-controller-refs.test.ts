/**
 * RolloutController.refsChanged with the refs its caller has just read (the server's ref watcher):
 * rollouts follow them without reading the refs again. The repository is a fake source (a map
 * of refs that counts its reads), named as such.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { RolloutController } from '../../../../server/rollout/rollout-controller.js';
import { parseRepoConfig, type RepoConfig } from '../../../../shared/config/repo-config.js';
import type { AgentView } from '../../../../shared/rollout/rollout-state.js';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const CONFIG = parseRepoConfig('rollouts:\n  main:\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n');

/** The fake source's refs and behaviour (the repository, named as a fake in each test's name). */
interface FakeSource {
  /** The refs listRefs gives (read each time). */
  stored: Map<string, string>;
  /** listRefs calls, counted when given. */
  reads?: number;
  /** repoConfig of commit `slow` waits on `gate`. */
  slow?: string;
  gate?: Promise<void>;
  /** nft-sync.yaml at every commit (default: a main rollout in two waves). */
  config?: RepoConfig;
  /** What resolveTrackedTag gives now (default v1 at NEW). */
  tracked?: { tag: string; commit: string };
  /** The agents and their reports (default canary-1 and web-1, connected, no report yet). */
  agents?: AgentView[];
}

/**
 * A controller on fake source `source`, started, closed and its folder removed after the test;
 * and its folder (GIT_DIR: nft-sync/rollouts.json is written there).
 */
async function controllerOn(t: { after: (fn: () => Promise<void>) => void }, source: FakeSource, onChange?: (name: string) => void): Promise<RolloutController & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-rollouts-'));
  const c = new RolloutController({
    source: {
      gitdir: dir,
      listRefs: async () => {
        if (source.reads !== undefined) source.reads += 1;
        return source.stored;
      },
      resolveTrackedTag: async () => source.tracked ?? { tag: 'v1', commit: NEW },
      repoConfig: async (commit: string) => {
        if (commit === source.slow) await source.gate;
        return source.config ?? CONFIG;
      },
    },
    agents: () => source.agents ?? [{ name: 'canary-1', connected: true }, { name: 'web-1', connected: true }],
    logger: pino({ level: 'silent' }),
    tickMs: 60_000,
    ...(onChange && { onChange }),
  });
  await c.start();
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return Object.assign(c, { dir });
}

test('fake source: refsChanged(refs) takes the branches from the refs given, without reading them again; refsChanged() reads them', async (t) => {
  const source = { stored: new Map([['refs/heads/main', OLD]]), reads: 0 };
  const c = await controllerOn(t, source);
  const target = () => c.list().find((r) => r.name === 'main')?.target.commit;
  assert.equal(target(), undefined, 'the tip at start is the baseline: no rollout');
  const before = source.reads;
  await c.refsChanged(new Map([['refs/heads/main', NEW], ['refs/tags/v1', NEW]]));
  assert.equal(source.reads, before, 'not read again');
  assert.equal(target(), NEW, 'the rollout of the new tip, taken from the refs given, started');
  const third = 'c'.repeat(40);
  source.stored = new Map([['refs/heads/main', third]]);
  await c.refsChanged();
  assert.equal(source.reads, before + 1, 'without refs: read');
  assert.equal(target(), third);
});

test('fake source: a fetch that resolved the branch before a move the controller has followed does not start a rollout backwards; one ahead of the ref scan starts its rollout', async (t) => {
  const source = { stored: new Map([['refs/heads/main', OLD]]) };
  const c = await controllerOn(t, source);
  const target = () => c.list().find((r) => r.name === 'main')?.target.commit;
  source.stored = new Map([['refs/heads/main', NEW]]);
  await c.refsChanged(source.stored);
  assert.equal(target(), NEW);
  // The fetch resolved main to OLD just before the move; it asks only now.
  const served = await c.revisionFor('web-1', 'main', { commit: OLD });
  assert.equal(target(), NEW, 'the rollout still goes to the tip');
  assert.equal(served.commit, OLD, 'that fetch is answered with what it resolved; the agent hears of NEW as any other');
  // A fetch that saw a tip the ref scan has not reported yet starts that tip's rollout.
  const third = 'c'.repeat(40);
  source.stored = new Map([['refs/heads/main', third]]);
  await c.revisionFor('web-1', 'refs/heads/main', { commit: third });
  assert.equal(target(), third);
});

test('fake source: refsChanged calls are taken in order; a slow one does not land after a newer one', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const A1 = 'd'.repeat(40);
  const source = { stored: new Map([['refs/heads/a', OLD], ['refs/heads/main', OLD]]), slow: A1, gate };
  const c = await controllerOn(t, source);
  const target = (name: string) => c.list().find((r) => r.name === name)?.target.commit;
  // The first scan moved `a` (its config is slow to read) and main; the second deleted `a` and moved main again.
  const first = c.refsChanged(new Map([['refs/heads/a', A1], ['refs/heads/main', NEW]]));
  const third = 'c'.repeat(40);
  source.stored = new Map([['refs/heads/main', third]]);
  const second = c.refsChanged(source.stored);
  release();
  await Promise.all([first, second]);
  assert.equal(target('main'), third, 'main ends on the newest tip');
});

test('fake source: a ref scan queued behind a slow one, whose tip a fetch has since overtaken, does not start a rollout backwards when it lands (the fetch had started the newer tip\'s)', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const A1 = 'd'.repeat(40);
  const THIRD = 'c'.repeat(40);
  const source = { stored: new Map([['refs/heads/a', OLD], ['refs/heads/main', OLD]]), slow: A1, gate };
  const c = await controllerOn(t, source);
  const targets: string[] = [];
  const target = () => c.list().find((r) => r.name === 'main')?.target.commit;
  // Scan 1 moved `a`, whose config is slow to read: the scans after it wait.
  const first = c.refsChanged(new Map([['refs/heads/a', A1], ['refs/heads/main', OLD]]));
  // Scan 2 saw main at NEW; it waits behind scan 1.
  const second = c.refsChanged(new Map([['refs/heads/a', A1], ['refs/heads/main', NEW]]));
  // main moves on to THIRD; a fetch resolves it before the scans land and starts its rollout.
  source.stored = new Map([['refs/heads/a', A1], ['refs/heads/main', THIRD]]);
  await c.revisionFor('web-1', 'main', { commit: THIRD });
  assert.equal(target(), THIRD, 'the fetch started the rollout of the tip');
  targets.push(target()!);
  // Scan 3, which saw THIRD, is queued last.
  const third = c.refsChanged(source.stored);
  release();
  await first;
  targets.push(target()!);
  await second;
  targets.push(target()!);
  await third;
  targets.push(target()!);
  assert.deepEqual(targets, [THIRD, THIRD, THIRD, THIRD], 'never a rollout from THIRD back to NEW (its canaries would get the older revision)');
});

test('fake source: a fetch of a tracked pattern that resolved the older tag before a release was pushed does not start a rollout backwards to it once the ref scan started the new release\'s', async (t) => {
  const config = parseRepoConfig('rollouts:\n  tags:\n    waves:\n      - agents: ["canary-*"]\n      - percent: 100\n');
  const source: FakeSource = { stored: new Map([['refs/heads/main', OLD], ['refs/tags/v1', OLD]]), config, tracked: { tag: 'v1', commit: OLD } };
  const c = await controllerOn(t, source);
  const target = () => c.list().find((r) => r.name === 'tags:v*')?.target;
  assert.deepEqual(await c.revisionFor('web-1', 'track:v*', { tag: 'v1', commit: OLD }), { tag: 'v1', commit: OLD }, 'the first release seen is the baseline');
  source.tracked = { tag: 'v2', commit: NEW };
  source.stored = new Map([['refs/heads/main', OLD], ['refs/tags/v2', NEW]]);
  await c.refsChanged(new Map([['refs/heads/main', OLD], ['refs/tags/v2', NEW]]));
  assert.deepEqual(target(), { tag: 'v2', commit: NEW }, 'the new release\'s rollout started');
  // A fetch that resolved `v*` to v1 just before v2 was pushed asks only now.
  await c.revisionFor('web-1', 'track:v*', { tag: 'v1', commit: OLD });
  assert.deepEqual(target(), { tag: 'v2', commit: NEW }, 'the rollout still goes to v2, not back to v1');
});

test('fake source: ref scans still queued when the controller closes start no rollout and write no state after the close (a server restarted in the same process found its state file written by the closed one)', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const A1 = 'd'.repeat(40);
  const source = { stored: new Map([['refs/heads/a', OLD], ['refs/heads/main', OLD]]), slow: A1, gate };
  const changed: string[] = [];
  const c = await controllerOn(t, source, (name) => changed.push(name));
  const { dir } = c;
  // The first scan waits on `a`'s config; the second, which moved main, is queued behind it.
  const first = c.refsChanged(new Map([['refs/heads/a', A1], ['refs/heads/main', OLD]]));
  const second = c.refsChanged(new Map([['refs/heads/a', A1], ['refs/heads/main', NEW]]));
  await c.close();
  const saved = readFileSync(join(dir, 'nft-sync', 'rollouts.json'), 'utf8');
  release();
  await Promise.all([first, second]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(c.list().find((r) => r.name === 'main'), undefined, 'no rollout of main started after the close');
  assert.deepEqual(changed, []);
  assert.equal(readFileSync(join(dir, 'nft-sync', 'rollouts.json'), 'utf8'), saved, 'the state file is as the close left it');
});

test('fake source: a rollout that completes while the next tip\'s config is read is the next rollout\'s fallback: agents of its later waves keep that revision, not the one before it', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const THIRD = 'c'.repeat(40);
  const source: FakeSource = { stored: new Map([['refs/heads/main', OLD]]), slow: THIRD, gate };
  const c = await controllerOn(t, source);
  await c.refsChanged(new Map([['refs/heads/main', NEW]]));
  assert.equal(c.get('main').phase, 'running', 'NEW rolls out from OLD, canaries first');
  // main moves on to THIRD; its nft-sync.yaml is slow to read.
  const scan = c.refsChanged(new Map([['refs/heads/main', THIRD]]));
  await new Promise((r) => setImmediate(r));
  // Meanwhile every agent reports NEW applied, and the next look completes NEW's rollout.
  const applied = { state: 'Applied' as const, commit: NEW, attemptedCommit: NEW, conditions: [] };
  source.agents = [{ name: 'canary-1', connected: true, status: applied }, { name: 'web-1', connected: true, status: applied }];
  c.tick();
  assert.equal(c.get('main').phase, 'complete', 'NEW is on the whole fleet');
  release();
  await scan;
  const r = c.get('main');
  assert.equal(r.target.commit, THIRD);
  assert.equal(r.previous.commit, NEW, 'THIRD rolls out from NEW, which completed, not from OLD');
  assert.equal((await c.revisionFor('web-1', 'main', { commit: THIRD })).commit, NEW, 'web-1 (a later wave) keeps NEW: it is not sent back to OLD');
});
