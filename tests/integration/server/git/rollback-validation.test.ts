/**
 * A rollback moves the branch with update-ref, past the pre-receive hook; the hook judges only
 * the tip of each push, so a commit in the middle of a push was never judged. Rolling back to
 * such a commit must be judged like a push. Real git, the real hook, the validator's own nft
 * scratch namespace when root.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { NftSyncError } from '../../../../shared/errors.js';
import { rollbackBranch } from '../../../../server/git/rollback.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

test('rolling back to a commit that was never judged (the middle of a push) is refused with PUSH_REFUSED; the branch stays', async (t) => {
  const f = await startServerFixture(t, { installHook: true });
  const bad = f.commit({ 'rulesets/default.json': '{"nftables": [{"rule": {}}]}' }, 'bad, in the middle');
  const tip = f.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'good tip');
  // One push of both commits: the hook judges the tip (valid) and lets the push in.
  f.git(['push', '-q', 'origin', 'HEAD:main']);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), tip);
  await assert.rejects(
    rollbackBranch({ gitdir: f.bare, branch: 'main', target: bad, targetName: bad.slice(0, 12), owner: 'tester', nft: 'off' }),
    (err: unknown) => err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_PUSH_REFUSED' && /rulesets\/default\.json/.test(err.message),
  );
  assert.equal(f.git(['rev-parse', 'main'], f.bare), tip, 'the branch did not move');
});
