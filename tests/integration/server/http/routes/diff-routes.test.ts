/** server/http/routes/diff-routes.ts: the object-level diff between two revisions, and its parameter errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertApiError, httpAppFixture } from '../../../../helpers/http-app-fixture.js';

test('GET /api/v1/diff: the ruleset added and the rule changed between two commits; nothing between a ref and itself; bad parameters get their codes', async (t) => {
  const { app, c1 } = await httpAppFixture(t);
  const res = await app.inject(`/api/v1/diff?from=${c1}&to=main`);
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.from.commit, c1);
  assert.match(JSON.stringify(body), /"web"/, 'the ruleset added is named');
  assert.match(JSON.stringify(body), /2222/, 'the changed rule is shown');
  const same = (await app.inject('/api/v1/diff?from=main&to=main')).json();
  assert.doesNotMatch(JSON.stringify(same), /2222|"web"/, 'nothing between main and itself');
  assertApiError(await app.inject('/api/v1/diff?from=main'), 'NFTSYNC_ERR_API_INVALID_REQUEST');
  assertApiError(await app.inject('/api/v1/diff?from=main&to=nope'), 'NFTSYNC_ERR_REF_NOT_FOUND');
  assertApiError(await app.inject('/api/v1/diff?from=main&to=main&ruleset=ghost'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
});
