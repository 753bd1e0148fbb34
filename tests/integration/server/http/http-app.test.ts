/**
 * server/http/http-app.ts: what the app does around every route: one error shape for whatever
 * went wrong (an unknown path, a body that is not JSON, a bad parameter), the read and write
 * authorisation rules, request counts by route pattern, and the API's own description.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALICE, assertApiError, httpAppFixture } from '../../../helpers/http-app-fixture.js';

test('an unknown path NFTSYNC_ERR_API_NOT_FOUND, a body that is not JSON or of another type NFTSYNC_ERR_API_INVALID_REQUEST naming the part; requests counted by pattern', async (t) => {
  const { app } = await httpAppFixture(t);
  assertApiError(await app.inject('/api/v1/nothing-here'), 'NFTSYNC_ERR_API_NOT_FOUND');
  const notJson = await app.inject({ method: 'POST', url: '/api/v1/rollback', payload: '{nope', headers: { ...ALICE, 'content-type': 'application/json' } });
  assertApiError(notJson, 'NFTSYNC_ERR_API_INVALID_REQUEST');
  assert.deepEqual(notJson.json().error.data, { in: 'body', field: '/' });
  const text = await app.inject({ method: 'POST', url: '/api/v1/rollback', payload: 'x', headers: { ...ALICE, 'content-type': 'application/xml' } });
  assertApiError(text, 'NFTSYNC_ERR_API_INVALID_REQUEST');
  assert.equal(text.json().error.data.parameter, 'content-type');
  await app.inject('/api/v1/rulesets/default');
  await app.inject('/api/v1/rulesets/web');
  const metrics = (await app.inject('/metrics')).body;
  assert.match(metrics, /^nftsync_http_requests_total\{route="\/api\/v1\/rulesets\/:name",status="200"\} 2$/m, 'one series per route pattern, not per path');
  assert.match(metrics, /^nftsync_http_requests_total\{route="unmatched",status="404"\} 1$/m);
});

test('authorisation: reads open unless --read-token-required; writes need a token from the list, or are refused (NFTSYNC_ERR_API_WRITES_DISABLED) with no list and no anonymous writes', async (t) => {
  const open = (await httpAppFixture(t)).app;
  assert.equal((await open.inject('/api/v1/rulesets')).statusCode, 200);
  const closed = (await httpAppFixture(t, { readTokenRequired: true })).app;
  assertApiError(await closed.inject('/api/v1/rulesets'), 'NFTSYNC_ERR_AUTH_REQUIRED');
  assert.equal((await closed.inject({ url: '/api/v1/rulesets', headers: ALICE })).statusCode, 200);
  const { app: noList, c1 } = await httpAppFixture(t, { tokens: undefined, anonymousWrites: false });
  assertApiError(await noList.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: c1 } }), 'NFTSYNC_ERR_API_WRITES_DISABLED');
  const { app: anonymous, c1: first } = await httpAppFixture(t, { tokens: undefined, anonymousWrites: true });
  const res = await anonymous.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: first } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().owner, 'local');
});

test('the API describes itself: /api/v1/openapi.json names every route with an operation id', async (t) => {
  const { app } = await httpAppFixture(t);
  const doc = (await app.inject('/api/v1/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.paths['/api/v1/rulesets/{name}']?.get?.operationId, 'getApiV1RulesetsName');
  assert.ok(doc.paths['/api/v1/rollback']?.post, 'the rollback route');
});
