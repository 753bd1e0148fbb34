/**
 * The pre-receive validator judges branches and tags only (server/push-validator.ts); nothing
 * else a push can create may then be what an agent is served. A push to `refs/prod/web` or
 * `refs/remotes/staging` passes the hook unjudged: asking for the branch `prod/web`, or for
 * `staging` before that branch exists, must not give it. Real server, git push through the hook.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServerFixture } from '../../helpers/server-fixture.js';

test('refs outside refs/heads and refs/tags (not judged by the hook) never become what a branch name resolves to', async (t) => {
  const f = await startServerFixture(t, { installHook: true });
  const good = f.git(['rev-parse', 'HEAD']);
  f.git(['push', '-q', 'origin', `${good}:refs/heads/prod/web`]);
  const bad = f.commit({ 'rulesets/default.json': 'this is not JSON' }, 'bad');
  // The hook lets these through: they are neither branches nor tags.
  f.git(['push', '-q', 'origin', `${bad}:refs/prod/web`]);
  f.git(['push', '-q', 'origin', `${bad}:refs/remotes/staging`]);
  const repo = f.server.repository;
  assert.equal(await repo.resolveRef('prod/web'), good, '"prod/web" is the branch, not refs/prod/web');
  await assert.rejects(repo.resolveRef('staging'), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
  // Branches and tags spelled in full or short still resolve.
  assert.equal(await repo.resolveRef('refs/heads/prod/web'), good);
  assert.equal(await repo.resolveRef('heads/prod/web'), good);
  assert.equal(await repo.resolveRef('main'), good);
});
