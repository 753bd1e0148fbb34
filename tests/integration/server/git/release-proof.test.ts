/**
 * server/git/release-proof.ts: the raw objects from a tag to a ruleset, read from a real
 * repository (RulesetRepository): the tag chain down to its commit, then the commit, root tree,
 * rulesets tree and, when the server chose the ruleset, nft-sync.yaml's blob.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proofReader, readRulesetPath, readTagChain } from '../../../../server/git/release-proof.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';

test('readTagChain and readRulesetPath: tag objects then the path objects, each with its id; lightweight and missing tags and a missing rulesets tree refused', async (t) => {
  const f = await startServerFixture(t);
  const commit = f.git(['rev-parse', 'HEAD']);
  f.git(['tag', '-a', '-m', 'v1', 'v1']);
  f.git(['tag', '-a', '-m', 'again', 'v1-outer', 'v1']);
  f.git(['tag', 'light']);
  f.git(['push', '-q', 'origin', 'v1', 'v1-outer', 'light']);
  const reader = proofReader(f.server.repository);
  const one = await readTagChain(reader, 'v1');
  assert.equal(one.commit, commit);
  assert.deepEqual(one.objects.map((o) => [o.type, o.id]), [['tag', f.git(['rev-parse', 'v1'])]]);
  assert.equal(one.objects[0]!.content.toString(), f.git(['cat-file', 'tag', 'v1']) + '\n');
  const chain = await readTagChain(reader, 'v1-outer');
  assert.deepEqual(chain.objects.map((o) => o.id), [f.git(['rev-parse', 'v1-outer']), f.git(['rev-parse', 'v1'])], 'a tag of a tag: both, outermost first');
  assert.equal(chain.commit, commit);
  await assert.rejects(readTagChain(reader, 'light'), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_PROOF_UNAVAILABLE' && /lightweight/.test(err.message));
  await assert.rejects(readTagChain(reader, 'nope'), { code: 'NFTSYNC_ERR_PROOF_UNAVAILABLE' });

  const path = await readRulesetPath(reader, commit, 'default');
  assert.deepEqual(path.map((o) => [o.type, o.id]), [['commit', commit], ['tree', f.git(['rev-parse', `${commit}^{tree}`])], ['tree', f.git(['rev-parse', `${commit}:rulesets`])]]);
  const withConfig = await readRulesetPath(reader, commit, 'default', { withConfig: true });
  assert.deepEqual(withConfig.at(-1)!, { type: 'blob', id: f.git(['rev-parse', `${commit}:nft-sync.yaml`]), content: Buffer.from(f.git(['show', `${commit}:nft-sync.yaml`]) + '\n') });
  // A ruleset with element change files is served composed: no proof covers it until folded.
  const changed = f.push({ 'rulesets/default.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'filter' } }, { set: { family: 'inet', table: 'filter', name: 'blocked', type: 'ipv4_addr' } }] }), 'rulesets/default.elements/000001.json': renderChangeFile({ family: 'inet', table: 'filter', name: 'blocked' }, ['198.18.0.9'], []) }, 'an element change');
  f.git(['tag', '-a', '-m', 'v2', 'v2']);
  f.git(['push', '-q', 'origin', 'v2']);
  assert.equal((await readTagChain(reader, 'v2')).commit, changed);
  await assert.rejects(readRulesetPath(reader, changed, 'default'), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_PROOF_UNAVAILABLE' && /has element change files \(rulesets\/default\.elements\/\).*fold them/.test(err.message));
  f.git(['rm', '-rq', 'rulesets']);
  f.git(['commit', '-qm', 'no rulesets']);
  f.git(['push', '-q', 'origin', 'HEAD:refs/heads/empty']);
  await assert.rejects(readRulesetPath(reader, f.git(['rev-parse', 'HEAD']), 'default'), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_RULESET_NOT_FOUND' && /no rulesets directory/.test(err.message));
  assert.throws(() => proofReader({}), { code: 'NFTSYNC_ERR_PROOF_UNAVAILABLE' });
});
