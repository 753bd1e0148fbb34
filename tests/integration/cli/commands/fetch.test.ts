/** cli/commands/fetch.ts: `nft-sync fetch` prints the ruleset byte for byte, and names it on stderr. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

test('fetch --ref: the stored bytes on stdout, ruleset, commit and blob on stderr; --ruleset picks another; an unknown ref fails with its code', async (t) => {
  const f = await startServerFixture(t);
  const web = '{"nftables": [{"table": {"family": "inet", "name": "web"}}]}\n';
  const commit = f.push({ 'rulesets/web.json': web }, 'web');
  const server = `${f.host}:${f.port}`;
  const def = await runCli(['fetch', '--server', server, '--ref', 'main']);
  assert.equal(def.code, 0, def.stderr);
  assert.equal(def.stdout, f.git(['show', `${commit}:rulesets/default.json`]) + '\n');
  assert.match(def.stderr, new RegExp(`^# default at ${commit} \\(blob ${f.git(['rev-parse', `${commit}:rulesets/default.json`])}\\)$`, 'm'));
  const other = await runCli(['fetch', '--server', server, '--ref', 'main', '--ruleset', 'web']);
  assert.equal(other.stdout, web);
  const missing = await runCli(['fetch', '--server', server, '--ref', 'nope']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /NFTSYNC_ERR_REF_NOT_FOUND/);
});
