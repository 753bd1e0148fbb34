/**
 * The nft runner's time limits and hooks, with a fake slow or hung nft (a script that sleeps,
 * then runs the real nft in a throwaway namespace: a slow or hung nft cannot be made on demand).
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNftRunner, NFT_TIMEOUT_DEFAULTS_MS } from '../../../host/nft-runner.js';
import { NftSyncError } from '../../../shared/errors.js';
import { createNetns } from '../../helpers/netns.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

/** A fake nft: `exec sleep 600` (hung) or a one-second sleep before the real nft (slow). */
function fakeNft(t: TestContext, how: 'hung' | 'slow'): string {
  const ns = createNetns(t, how);
  const dir = makeTempDir(t, 'nft-sync-slow-');
  const fake = join(dir, 'nft');
  writeFileSync(fake, how === 'hung' ? '#!/bin/sh\nexec sleep 600\n' : `#!/bin/sh\nsleep 1\nexec ip netns exec ${ns.name} nft "$@"\n`);
  chmodSync(fake, 0o755);
  return fake;
}

test('every kind of nft run has its own time limit; a run past it is killed with NFTSYNC_ERR_NFT_TIMEOUT (fake hung and slow nft)', async (t) => {
  assert.ok(NFT_TIMEOUT_DEFAULTS_MS.apply > NFT_TIMEOUT_DEFAULTS_MS.list, 'a load of a huge set gets more than a listing');
  const nft = createNftRunner(fakeNft(t, 'hung'), { timeouts: { list: 300 } });
  const t0 = performance.now();
  await assert.rejects(nft.listTables(), (err: unknown) => {
    assert.ok(err instanceof NftSyncError);
    assert.equal(err.code, 'NFTSYNC_ERR_NFT_TIMEOUT');
    assert.equal(err.retryable, true);
    assert.equal(err.data?.kind, 'list');
    assert.match(err.message, /nft -j list tables did not finish within 0.3 s and was killed/);
    return true;
  });
  assert.ok(performance.now() - t0 < 15_000, 'settled at the limit, not when the hung process ended');
  // A load keeps its own (default) limit: a one-second delay passes where the list limit would not.
  const slow = createNftRunner(fakeNft(t, 'slow'), { timeouts: { list: 300 } });
  await slow.applyJson({ nftables: [{ add: { table: { family: 'inet', name: 'x' } } }] });
});

test('hooks see the PID of every nft started and wrap loads only', async (t) => {
  const ns = createNetns(t, 'hooks');
  const pids: number[] = [];
  const loads: number[] = [];
  const nft = createNftRunner(ns.nftCommand).withHooks({
    spawned: (pid) => pids.push(pid),
    aroundApply: async (bytes, run) => {
      loads.push(bytes);
      return run();
    },
  });
  const batch = JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'x' } } }] });
  await nft.applyJson(batch);
  await nft.listTables();
  await nft.listTable('inet', 'x');
  assert.deepEqual(loads, [Buffer.byteLength(batch)]);
  assert.equal(pids.length, 3);
  assert.equal(new Set(pids).size, 3);
});

test('long-running processes go through the runner too: `nft -j monitor` sees the namespace\'s transactions; spawnBeside runs a program in nft\'s namespace', async (t) => {
  const ns = createNetns(t, 'watch');
  const nft = createNftRunner(ns.nftCommand);
  const monitor = nft.monitor();
  t.after(() => monitor.kill('SIGKILL'));
  let out = '';
  monitor.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  // nft monitor prints nothing when it is ready: add tables until one shows up (bounded).
  for (let i = 0; i < 50 && !/"table"/.test(out); i++) {
    ns.nft(['add', 'table', 'inet', `w${i}`]);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /"add": \{"table": \{"family": "inet", "name": "w\d+"/);

  const beside = nft.spawnBeside(['ip', 'netns', 'identify']);
  let name = '';
  beside.stdout!.on('data', (c: Buffer) => (name += c.toString()));
  const code = await new Promise<number | null>((resolve) => beside.on('close', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.equal(name.trim(), ns.name, 'the program ran in nft\'s namespace');
  assert.throws(() => createNftRunner('sudo nft-wrapper').spawnBeside(['true']), { code: 'NFTSYNC_ERR_NFT_EXEC' });
});
