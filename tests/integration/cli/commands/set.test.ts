/** cli/commands/set.ts: `nft-sync set add|del` changes a set through the element API as one commit by the token's owner. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'set-cli-token-0123456789abcdef';
const EDGE = JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'blk', type: 'ipv4_addr' } }] });

test('set add prints the new commit (author: the token\'s owner), set del removes; bad --set, add --timeout on del, and no elements exit 2', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} carol\n`) });
  f.push({ 'rulesets/edge.json': EDGE }, 'a set');
  const base = ['--http', `http://127.0.0.1:${f.server.httpAddress!.port}`, '--ruleset', 'edge', '--set', 'inet/edge/blk'];
  const env = { NFT_SYNC_TOKEN: TOKEN };
  const add = await runCli(['set', 'add', ...base, '198.18.0.1', '198.18.0.2'], { env });
  assert.equal(add.code, 0, add.stderr);
  const commit = add.stdout.trim();
  assert.equal(f.git(['rev-parse', 'main'], f.bare), commit);
  assert.equal(f.git(['log', '-1', '--format=%an', commit], f.bare), 'carol');
  assert.match(f.git(['show', `${commit}:rulesets/edge.json`], f.bare), /198\.18\.0\.2/);
  const del = await runCli(['set', 'del', ...base, '198.18.0.2'], { env });
  assert.equal(del.code, 0, del.stderr);
  assert.doesNotMatch(f.git(['show', `${del.stdout.trim()}:rulesets/edge.json`], f.bare), /198\.18\.0\.2/);
  const noToken = await runCli(['set', 'add', ...base, '198.18.0.3'], { env: { NFT_SYNC_TOKEN: '' } });
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.stderr, /NFTSYNC_ERR_AUTH_REQUIRED/);
  for (const args of [['set', 'add', ...base.slice(0, 4), '--set', 'inet/blk', '198.18.0.1'], ['set', 'del', ...base, '--timeout', '60', '198.18.0.1'], ['set', 'add', ...base]]) {
    const bad = await runCli(args, { env });
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
  assert.equal(f.git(['rev-parse', 'main'], f.bare), del.stdout.trim(), 'refused changes made no commit');
});

test('set fold writes the element change files into the base (the effective ruleset and its blob id unchanged); again: nothing to fold', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} carol\n`) });
  const elem = Array.from({ length: 300 }, (_, i) => `198.19.${i >> 8}.${i & 255}`);
  f.push({ 'rulesets/edge.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'blk', type: 'ipv4_addr', elem } }] }) }, 'a set');
  const http = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const env = { NFT_SYNC_TOKEN: TOKEN };
  const add = await runCli(['set', 'add', '--http', http, '--ruleset', 'edge', '--set', 'inet/edge/blk', '198.18.0.1'], { env });
  assert.equal(add.code, 0, add.stderr);
  assert.equal(f.git(['ls-tree', '--name-only', 'main', 'rulesets/edge.elements/'], f.bare), 'rulesets/edge.elements/000001.json');
  const etag = async () => (await fetch(`${http}/api/v1/rulesets/edge?raw=1`)).headers.get('etag');
  const before = await etag();
  const fold = await runCli(['set', 'fold', '--http', http, '--ruleset', 'edge'], { env });
  assert.equal(fold.code, 0, fold.stderr);
  const commit = fold.stdout.trim();
  assert.equal(f.git(['rev-parse', 'main'], f.bare), commit);
  assert.match(fold.stderr, /1 element change file folded into rulesets\/edge\.json/);
  assert.equal(f.git(['ls-tree', '--name-only', commit, 'rulesets/edge.elements/'], f.bare), '', 'the change files are gone');
  assert.equal(f.git(['log', '-1', '--format=%an|%s', commit], f.bare), 'carol|edge: fold 1 element change into rulesets/edge.json');
  assert.equal(await etag(), before, 'agents see the same ruleset: same bytes, same blob id');
  const again = await runCli(['set', 'fold', '--http', http, '--ruleset', 'edge'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), commit);
  assert.match(again.stderr, /no element change files to fold/);
  for (const args of [['set', 'fold', '--http', http, '--ruleset', 'edge', '198.18.0.1'], ['set', 'add', '--http', http, '--ruleset', 'edge', '198.18.0.1']]) {
    const bad = await runCli(args, { env });
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
});
