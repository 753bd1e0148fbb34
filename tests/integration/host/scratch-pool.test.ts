/**
 * host/scratch-pool.ts: scratch namespaces lent for one check each, given back emptied (up to
 * `keep` idle), all removed by close(); a namespace left by a dead owner is swept at first lease.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { SCRATCH_POOL_PREFIX, ScratchPool } from '../../../host/scratch-pool.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const exists = (name: string) => new RegExp(`^${name}\\b`, 'm').test(namespaces());

test('ScratchPool: lease, give back emptied and lend again; a second at once is a new one, removed on return past keep; close removes all; a dead owner\'s is swept', async (t) => {
  // A namespace of the pool's name whose owner PID does not run (PIDs stay below 2^22).
  const orphan = `${SCRATCH_POOL_PREFIX}-4194303-abcdef`;
  execFileSync('ip', ['netns', 'add', orphan]);
  t.after(() => {
    if (exists(orphan)) execFileSync('ip', ['netns', 'delete', orphan], { stdio: 'ignore' });
  });
  const created: string[] = [];
  const removed: string[] = [];
  const pool = new ScratchPool({ keep: 1, onCreate: (n) => created.push(n), onRemove: (n) => removed.push(n) });
  t.after(() => pool.close());
  const a = await pool.lease();
  assert.equal(exists(orphan), false, 'swept at the first lease');
  assert.match(a.name, new RegExp(`^${SCRATCH_POOL_PREFIX}-${process.pid}-[0-9a-f]+$`));
  await a.nft.applyJson({ nftables: [{ add: { table: { family: 'inet', name: 'leased' } } }] });
  const b = await pool.lease();
  assert.notEqual(b.name, a.name, 'lent at once: another namespace');
  await a.close();
  const again = await pool.lease();
  assert.equal(again.name, a.name, 'the one given back is lent again');
  assert.doesNotMatch((await again.nft.run(['list', 'tables'])).stdout, /leased/, 'emptied in between');
  await again.close();
  await b.close();
  await pool.close();
  assert.deepEqual(created.sort(), [a.name, b.name].sort());
  assert.deepEqual(removed.sort(), [a.name, b.name].sort());
  assert.equal(exists(a.name) || exists(b.name), false, 'close removes every namespace');
  await pool.close();
  await assert.rejects(pool.lease(), /closed/);
});
