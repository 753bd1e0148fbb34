/** server/http/routes/element-routes.ts: adding and deleting set elements as one commit by the token's owner. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALICE, assertApiError, httpAppFixture } from '../../../../helpers/http-app-fixture.js';

const EDGE = JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'blk', type: 'ipv4_addr' } }] });

test('POST .../sets/.../elements: 201 with a new commit when elements change, 200 with the branch\'s commit when nothing does; a write; unknown set NFTSYNC_ERR_SET_NOT_FOUND', async (t) => {
  const { f, app } = await httpAppFixture(t);
  f.push({ 'rulesets/edge.json': EDGE }, 'a set');
  const url = '/api/v1/rulesets/edge/sets/inet/edge/blk/elements';
  const post = (payload: object, headers: Record<string, string> = ALICE, at = url) => app.inject({ method: 'POST', url: at, payload, headers });
  assertApiError(await post({ add: ['198.18.0.1'] }, {}), 'NFTSYNC_ERR_AUTH_REQUIRED');
  const added = await post({ add: ['198.18.0.1', '198.18.0.2'] });
  assert.equal(added.statusCode, 201, added.body);
  const a = added.json();
  assert.deepEqual([a.branch, a.added, a.deleted], ['main', 2, 0]);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), a.commit);
  assert.equal(f.git(['log', '-1', '--format=%an', a.commit], f.bare), 'alice');
  assert.match(f.git(['show', `${a.commit}:rulesets/edge.json`], f.bare), /198\.18\.0\.2/);
  const again = await post({ add: ['198.18.0.1'] });
  assert.equal(again.statusCode, 200);
  assert.deepEqual([again.json().commit, again.json().added], [a.commit, 0]);
  const deleted = await post({ delete: ['198.18.0.2'] });
  assert.equal(deleted.statusCode, 201);
  assert.equal(deleted.json().deleted, 1);
  assert.doesNotMatch(f.git(['show', `${deleted.json().commit}:rulesets/edge.json`], f.bare), /198\.18\.0\.2/);
  assertApiError(await post({ add: ['198.18.0.1'] }, ALICE, '/api/v1/rulesets/edge/sets/inet/edge/nope/elements'), 'NFTSYNC_ERR_SET_NOT_FOUND');
});

test('the long-lived git update-ref of the fast path is gone once the app is closed (no git left behind)', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  const { f, app } = await httpAppFixture(t);
  const withElements = JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'blk', type: 'ipv4_addr', elem: ['198.18.0.1'] } }] });
  f.push({ 'rulesets/edge.json': withElements }, 'a set with an element');
  const added = await app.inject({ method: 'POST', url: '/api/v1/rulesets/edge/sets/inet/edge/blk/elements', payload: { add: ['198.18.0.9'] }, headers: ALICE });
  assert.equal(added.statusCode, 201, added.body);
  const gits = (): string[] =>
    readdirSync('/proc').filter((p) => {
      if (!/^\d+$/.test(p)) return false;
      try {
        return readFileSync(`/proc/${p}/environ`, 'latin1').includes(`GIT_DIR=${resolve(f.bare)}\0`) && readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('update-ref');
      } catch {
        return false;
      }
    });
  assert.equal(gits().length, 1, 'the fast path moved the branch through its long-lived git');
  await app.close();
  for (let i = 0; i < 50 && gits().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(gits(), []);
});

test('the app reads the default branch\'s big rulesets when it is ready, so the first change after a start does not read the set first; it logs which', async (t) => {
  const pino = (await import('pino')).default;
  const lines: Array<{ msg: string; rulesets?: string[] }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const { renderRuleset } = await import('../../../../../shared/ruleset/render-ruleset.js');
  const { f, app } = await httpAppFixture(t, { logger });
  // About 1.2 MB, a big ruleset; the fixture's others are small.
  const elem = Array.from({ length: 60_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  f.push({ 'rulesets/edge.json': renderRuleset({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'blk', type: 'ipv4_addr', elem } }] }) }, 'a big set');
  await app.ready();
  const url = '/api/v1/rulesets/edge/sets/inet/edge/blk/elements';
  // The change is queued behind the warming: the log line comes first.
  const added = await app.inject({ method: 'POST', url, payload: { add: ['198.19.0.1'] }, headers: ALICE });
  assert.equal(added.statusCode, 201, added.body);
  const warmed = lines.findIndex((l) => l.msg === 'big rulesets read for the element API');
  assert.ok(warmed >= 0, 'logged');
  assert.deepEqual(lines[warmed]!.rulesets, ['edge']);
  assert.ok(warmed < lines.findIndex((l) => l.msg === 'elements changed'));
});
