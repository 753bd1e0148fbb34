/** server/git/reachable-commits.ts: the commits reachable from the tips given, brought up to date on a miss. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReachableCommits } from '../../../../server/git/reachable-commits.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('has: commits reachable from the tips (with their history); a commit only on another ref is not, until a tip reaches it; a forgotten tip keeps its commits', async (t) => {
  const dir = tempDir(t, 'nft-sync-reach-');
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'one']);
  const one = git(dir, ['rev-parse', 'HEAD']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'two']);
  const two = git(dir, ['rev-parse', 'HEAD']);
  git(dir, ['checkout', '-q', '-b', 'side', one]);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'side']);
  const side = git(dir, ['rev-parse', 'HEAD']);
  let tips = [two];
  let asked = 0;
  const reach = new ReachableCommits(join(dir, '.git'), async () => (asked++, tips));
  assert.equal(await reach.has(two), true);
  assert.equal(await reach.has(one), true, 'history of a tip');
  assert.equal(reach.size, 2);
  const before = asked;
  assert.equal(await reach.has(one), true);
  assert.equal(asked, before, 'a hit reads no refs');
  assert.equal(await reach.has(side), false, 'only on a ref not listed as a tip');
  tips = [two, side];
  assert.equal(await reach.has(side), true, 'a miss re-reads the tips');
  assert.equal(reach.size, 3);
  tips = [one];
  assert.equal(await reach.has(side), true, 'validated once, kept after its tip went');
  await Promise.all([reach.refresh(), reach.refresh(), reach.refresh()]);
  assert.equal(reach.size, 3);
});
