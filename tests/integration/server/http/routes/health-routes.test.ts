/** server/http/routes/health-routes.ts: liveness, readiness (the refs counted) and metrics, all without a token. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpAppFixture } from '../../../../helpers/http-app-fixture.js';

test('/healthz, /readyz and /metrics answer without a token, even when reads need one', async (t) => {
  const { f, app } = await httpAppFixture(t, { readTokenRequired: true });
  const health = await app.inject('/healthz');
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: 'ok' });
  const ready = await app.inject('/readyz');
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, 'ready');
  assert.equal(ready.json().refs, (await f.server.repository.listRefs()).size);
  f.git(['tag', 'v1']);
  f.git(['push', '-q', 'origin', 'v1']);
  assert.equal(ready.json().refs + 1, (await app.inject('/readyz')).json().refs, 'a pushed tag is one more ref');
  const metrics = await app.inject('/metrics');
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^nftsync_http_requests_total\{route="\/readyz",status="200"\} 2$/m);
  assert.equal((await app.inject('/api/v1/agents')).statusCode, 401, 'a read route still needs the token');
});
