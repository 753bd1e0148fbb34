/** server/http/routes/ref-routes.ts: the ref-change long poll a replica waits on: answered at once when behind, else when a ref moves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServerFixture } from '../../../../helpers/server-fixture.js';

test('GET /api/v1/refs/changes: the version now; with since=that version it waits for the next push (not for its time limit), then a new version', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const url = (q = '') => `http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/refs/changes${q}`;
  const first = (await (await fetch(url())).json()) as { version: string };
  assert.match(first.version, /^[0-9a-f]{12}-\d+$/);
  const stale = (await (await fetch(url('?since=000000000000-0'))).json()) as { version: string };
  assert.equal(stale.version, first.version, 'a version not current is answered at once');
  let answered = false;
  const waiting = fetch(url(`?since=${encodeURIComponent(first.version)}&wait=20`)).then(async (r) => ((answered = true), assert.equal(r.status, 200), (await r.json()) as { version: string }));
  // Sentinel: a request made after the long poll and answered at once; the poll must still be open.
  assert.equal(((await (await fetch(url())).json()) as { version: string }).version, first.version);
  assert.equal(answered, false, 'no ref moved: still waiting');
  f.push({ 'rulesets/web.json': '{"nftables": []}\n' }, 'a push');
  const moved = await waiting;
  assert.notEqual(moved.version, first.version);
  assert.equal(moved.version.split('-')[0], first.version.split('-')[0], 'same process, same prefix');
});
