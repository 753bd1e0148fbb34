/** server/http/routes/rollback-routes.ts: a rollback is a write (token), makes a new commit with the older rulesets, and is counted. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALICE, assertApiError, DEFAULT_RULESET, httpAppFixture } from '../../../../helpers/http-app-fixture.js';

test('POST /api/v1/rollback: no token 401; with one, 201 and a new commit on main whose rulesets are those of TO, owned by the token\'s owner', async (t) => {
  const { f, app, c1, c2 } = await httpAppFixture(t);
  const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: c1 }, headers });
  assertApiError(await post({}), 'NFTSYNC_ERR_AUTH_REQUIRED');
  assertApiError(await post({ authorization: 'Bearer wrong-token-0123456789abcdef' }), 'NFTSYNC_ERR_AUTH_REQUIRED');
  assert.equal(f.git(['rev-parse', 'main'], f.bare), c2, 'refused writes change nothing');
  const res = await post(ALICE);
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json();
  assert.equal(body.owner, 'alice');
  assert.equal(f.git(['rev-parse', 'main'], f.bare), body.commit);
  assert.notEqual(body.commit, c1, 'a new commit, history kept');
  assert.equal(f.git(['rev-parse', `${body.commit}^`], f.bare), c2);
  assert.equal(f.git(['show', `${body.commit}:rulesets/default.json`], f.bare), DEFAULT_RULESET.trim());
  assert.match(f.git(['ls-tree', '--name-only', `${body.commit}`, 'rulesets/'], f.bare), /^rulesets\/default\.json$/);
  assert.match((await app.inject('/metrics')).body, /^nftsync_rollbacks_total 1$/m);
  assertApiError(await app.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: 'nope' }, headers: ALICE }), 'NFTSYNC_ERR_REF_NOT_FOUND');
});
