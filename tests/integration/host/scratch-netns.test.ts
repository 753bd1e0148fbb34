/** host/scratch-netns.ts: a throwaway namespace whose nft is its own, deleted by close() (twice is fine). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { openScratchNetns } from '../../../host/scratch-netns.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

test('openScratchNetns: <prefix>-<pid>-<random>, nft inside it only, gone after close()', async (t) => {
  const ns = await openScratchNetns('nfts-scratchtest');
  t.after(() => ns.close());
  assert.match(ns.name, new RegExp(`^nfts-scratchtest-${process.pid}-[0-9a-f]{6}$`));
  assert.match(namespaces(), new RegExp(`^${ns.name}\\b`, 'm'));
  await ns.nft.applyJson({ nftables: [{ add: { table: { family: 'inet', name: 'scratch_probe' } } }] });
  assert.match((await ns.nft.run(['list', 'tables'])).stdout, /table inet scratch_probe/);
  assert.doesNotMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), /scratch_probe/, 'not in the host\'s namespace');
  const other = await openScratchNetns('nfts-scratchtest');
  t.after(() => other.close());
  assert.notEqual(other.name, ns.name);
  assert.doesNotMatch((await other.nft.run(['list', 'tables'])).stdout, /scratch_probe/, 'each namespace has its own tables');
  await ns.close();
  await ns.close();
  assert.doesNotMatch(namespaces(), new RegExp(`^${ns.name}\\b`, 'm'));
});
