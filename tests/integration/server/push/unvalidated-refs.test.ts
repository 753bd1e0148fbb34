/**
 * The pre-receive validator judges branches and tags only (server/push/push-validator.ts); nothing
 * else a push can create may then be what an agent is served. A push to `refs/prod/web` or
 * `refs/remotes/staging` passes the hook unjudged: asking for the branch `prod/web`, or for
 * `staging` before that branch exists, must not give it; nor may such a commit be served by its
 * id. Real server, git push through the hook (the first test).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

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

test('a commit only refs/other/x leads to is not served by its id, full or abbreviated, on the wire or the API; once on a branch it is', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const api = `http://127.0.0.1:${f.server.httpAddress!.port}/api/v1`;
  const bad = f.commit({ 'rulesets/default.json': '{"nftables": "never validated"}\n' }, 'unvalidated');
  f.git(['push', '-q', 'origin', `${bad}:refs/other/x`]);
  f.git(['reset', '-q', '--hard', 'HEAD~1']);
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  for (const ref of [bad, bad.slice(0, 12), bad.slice(0, 7)]) {
    await assert.rejects(c.fetch({ ref, ruleset: 'default' }), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' }, ref);
    const res = await fetch(`${api}/rulesets/default?ref=${ref}`);
    assert.equal(res.status, 404, ref);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_REF_NOT_FOUND');
  }
  assert.equal((await fetch(`${api}/diff?from=main&to=${bad}`)).status, 404);
  // Followed by id, it is "not there yet"; it appears when a branch (judged by the hook) has it.
  assert.equal(await c.subscribe(bad), undefined);
  const moved = new Promise<string>((resolve) => c.on('moved', (_ref, commit) => resolve(commit)));
  f.git(['push', '-q', 'origin', `${bad}:refs/heads/judged`]);
  assert.equal(await moved, bad);
  const r = await c.fetch({ ref: bad.slice(0, 7), ruleset: 'default' });
  assert.equal(r.commit, bad);
});
