/** server/http/routes/ruleset-routes.ts: the rulesets at a ref, one ruleset (parsed or raw, with its ETag), and its revisions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertApiError, httpAppFixture } from '../../../../helpers/http-app-fixture.js';
import { sharedBuffer } from '../../../../../shared/bytes/spare-buffer.js';

test('GET /api/v1/rulesets: names and blobs at a ref (default main); unknown ref NFTSYNC_ERR_REF_NOT_FOUND', async (t) => {
  const { f, app, c1, c2 } = await httpAppFixture(t);
  const now = (await app.inject('/api/v1/rulesets')).json();
  assert.equal(now.commit, c2);
  assert.deepEqual(now.rulesets.map((r: { name: string }) => r.name), ['default', 'web']);
  assert.equal(now.rulesets[0].blob, f.git(['rev-parse', `${c2}:rulesets/default.json`], f.bare));
  assert.deepEqual((await app.inject(`/api/v1/rulesets?ref=${c1}`)).json().rulesets.map((r: { name: string }) => r.name), ['default']);
  assertApiError(await app.inject('/api/v1/rulesets?ref=nope'), 'NFTSYNC_ERR_REF_NOT_FOUND');
});

test('GET /api/v1/rulesets/NAME: parsed with commit and blob, ?raw=1 the stored bytes with the blob as ETag; unknown NFTSYNC_ERR_RULESET_NOT_FOUND', async (t) => {
  const { f, app, c2 } = await httpAppFixture(t);
  const blob = f.git(['rev-parse', `${c2}:rulesets/default.json`], f.bare);
  const parsed = await app.inject('/api/v1/rulesets/default');
  assert.equal(parsed.statusCode, 200);
  assert.equal(parsed.headers.etag, `"${blob}"`);
  assert.equal(parsed.headers['x-nft-sync-commit'], c2);
  assert.match(JSON.stringify(parsed.json()), /2222/);
  const raw = await app.inject('/api/v1/rulesets/default?raw=1');
  assert.equal(raw.body, f.git(['show', `${c2}:rulesets/default.json`], f.bare) + '\n');
  assertApiError(await app.inject('/api/v1/rulesets/ghost'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
  assertApiError(await app.inject('/api/v1/rulesets/..%2Fetc'), 'NFTSYNC_ERR_RULESET_NAME_INVALID');
});

test('GET /api/v1/rulesets/NAME/revisions: the commits that changed it, newest first; a ruleset never present NFTSYNC_ERR_RULESET_NOT_FOUND', async (t) => {
  const { app, c1, c2 } = await httpAppFixture(t);
  const commits = async (name: string) => ((await app.inject(`/api/v1/rulesets/${name}/revisions`)).json() as { revisions: Array<{ commit: string }> }).revisions.map((r) => r.commit);
  assert.deepEqual(await commits('default'), [c2, c1]);
  assert.deepEqual(await commits('web'), [c2], 'web changed only in c2');
  assertApiError(await app.inject('/api/v1/rulesets/ghost/revisions'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
});

test('review: ?raw=1 sends a text the element API left in shared memory (a SharedArrayBuffer, bigger than the text) as its bytes, not as a JSON object nor the block\'s spare room', async (t) => {
  const { f, app, c2 } = await httpAppFixture(t);
  const blob = f.git(['rev-parse', `${c2}:rulesets/default.json`], f.bare);
  const stored = Buffer.from(f.git(['show', `${c2}:rulesets/default.json`], f.bare) + '\n');
  // As element-tips.ts leaves it: the text at the start of a bigger shared block, handed to the reader.
  const block = sharedBuffer(stored.length + 4096);
  block.fill(0x7a);
  stored.copy(block);
  f.server.repository.primeComposed(blob, [], block.subarray(0, stored.length), blob);
  const raw = await app.inject('/api/v1/rulesets/default?raw=1');
  assert.equal(raw.statusCode, 200);
  assert.equal(raw.headers['content-type'], 'application/json');
  assert.equal(raw.body, stored.toString());
  assert.equal(raw.headers.etag, `"${blob}"`);
});
