/**
 * foldElementChanges on a real server's bare repository: the change files written into the base
 * in one commit by the asker, the effective ruleset unchanged; nothing to fold, no commit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldElementChanges } from '../../../../server/git/fold-elements.js';
import { changeSetElements } from '../../../../server/git/set-elements.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

test('foldElementChanges: one commit writes the effective ruleset as the base and removes the change files; then nothing to fold', async (t) => {
  const f = await startServerFixture(t);
  const set = { family: 'inet', table: 'edge', name: 'blk' };
  const elem = Array.from({ length: 300 }, (_, i) => `198.19.${i >> 8}.${i & 255}`);
  f.push({ 'rulesets/edge.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { ...set, type: 'ipv4_addr', elem } }] }) }, 'a set');
  await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set, owner: 'alice', add: ['198.18.0.1'], nft: 'off' });
  await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set, owner: 'bob', delete: ['198.19.0.0'], nft: 'off' });
  const before = f.git(['rev-parse', 'main'], f.bare);
  const effective = await f.server.repository.readRuleset(before, 'edge');
  const r = await foldElementChanges({ gitdir: f.bare, branch: 'main', ruleset: 'edge', owner: 'carol' });
  assert.deepEqual([r.folded, r.previous, r.attempts], [2, before, 1]);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), r.commit);
  assert.equal(f.git(['ls-tree', '--name-only', r.commit, 'rulesets/edge.elements/'], f.bare), '');
  assert.equal(f.git(['log', '-1', '--format=%an|%s', r.commit], f.bare), 'carol|edge: fold 2 element changes into rulesets/edge.json');
  assert.equal(`${f.git(['show', `${r.commit}:rulesets/edge.json`], f.bare)}\n`, effective.bytes.toString());
  assert.equal(f.git(['rev-parse', `${r.commit}:rulesets/edge.json`], f.bare), effective.blob, 'the base is now the very blob agents had');
  const again = await foldElementChanges({ gitdir: f.bare, branch: 'main', ruleset: 'edge', owner: 'carol' });
  assert.deepEqual([again.folded, again.commit], [0, r.commit]);
  await assert.rejects(foldElementChanges({ gitdir: f.bare, branch: 'main', ruleset: 'ghost', owner: 'carol' }), { code: 'NFTSYNC_ERR_RULESET_NOT_FOUND' });
  await assert.rejects(foldElementChanges({ gitdir: f.bare, branch: 'nope', ruleset: 'edge', owner: 'carol' }), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
});
