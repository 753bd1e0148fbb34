/** cli/commands/rollback.ts: `nft-sync rollback --branch` through the API; a no-op says so and exits 0. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

// Writes need no token here: the HTTP listener is on loopback and the server has no token list.
test('rollback --branch main --to C1: prints the new commit whose rulesets are C1\'s; again: nothing to roll back, exit 0; without --branch or --track-tags exit 2', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const http = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const c1 = f.git(['rev-parse', 'HEAD']);
  const c2 = f.push({ 'rulesets/web.json': '{"nftables": []}\n' }, 'web');
  const r = await runCli(['rollback', '--http', http, '--branch', 'main', '--to', c1]);
  assert.equal(r.code, 0, r.stderr);
  const commit = r.stdout.trim();
  assert.equal(f.git(['rev-parse', 'main'], f.bare), commit);
  assert.equal(f.git(['rev-parse', `${commit}^`], f.bare), c2);
  assert.equal(f.git(['ls-tree', '--name-only', commit, 'rulesets/'], f.bare), 'rulesets/default.json');
  assert.match(r.stderr, new RegExp(`^# main: ${c2.slice(0, 12)} -> ${commit.slice(0, 12)} \\(rulesets of ${c1.slice(0, 12)}\\)$`, 'm'));
  const again = await runCli(['rollback', '--http', http, '--branch', 'main', '--to', c1]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), commit);
  assert.match(again.stderr, /nothing to roll back/);
  for (const args of [['rollback', '--http', http, '--to', c1], ['rollback', '--http', http, '--branch', 'main', '--to', c1, '--sign-key', '/x']]) {
    const bad = await runCli(args);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
});
