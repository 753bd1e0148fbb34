/**
 * `nft-sync set add|del` as an operator runs it: the real CLI process against a real server
 * with a token file, its element API committing to the real repository (validated by the real
 * push validator).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderRuleset } from '../../shared/ruleset/render-ruleset.js';
import { parseTokenList } from '../../shared/config/token-list.js';
import { runCli } from '../helpers/cli-process.js';
import { startServerFixture } from '../helpers/server-fixture.js';

const TOKEN = 'set-cli-token-0123456789abcdef';
const RULESET = {
  nftables: [
    { table: { family: 'inet', name: 'filter' } },
    { set: { family: 'inet', table: 'filter', name: 'blocklist', type: 'ipv4_addr', flags: ['timeout'] } },
    { map: { family: 'inet', table: 'filter', name: 'ports', type: ['ipv4_addr', 'inet_service'], map: 'verdict' } },
  ],
};

test('nft-sync set add and del: arguments, --file, --timeout, maps, --branch, refusals with their codes', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} carol\n`) });
  f.push({ 'rulesets/edge.json': renderRuleset(RULESET) }, 'edge');
  const http = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const set = (args: string[], token = TOKEN) => runCli(['set', ...args, '--http', http, '--ruleset', 'edge'], { env: { NFT_SYNC_TOKEN: token } });
  const elems = (name: string, ref = 'main') => {
    const file = JSON.parse(f.git(['show', `${ref}:rulesets/edge.json`], f.bare)) as { nftables: Array<Record<string, { name: string; elem?: unknown[] }>> };
    const item = file.nftables.find((i) => (i.set ?? i.map)?.name === name)!;
    return (item.set ?? item.map)!.elem ?? [];
  };

  const add = await set(['add', '--set', 'inet/filter/blocklist', '198.18.0.1', '198.18.0.2']);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout, `${f.git(['rev-parse', 'main'], f.bare)}\n`);
  assert.match(add.stderr, /^# main: [0-9a-f]{12} -> [0-9a-f]{12}: set inet filter blocklist: 2 added, 0 deleted\n$/);
  assert.deepEqual(elems('blocklist'), ['198.18.0.1', '198.18.0.2']);
  assert.equal(f.git(['log', '-1', '--format=%an', 'main'], f.bare), 'carol');

  const list = join(f.dir, 'scanners.txt');
  writeFileSync(list, '# scanners seen today\n198.18.0.7\n\n198.18.0.8   # twice\n');
  const timed = await set(['add', '--set', 'inet/filter/blocklist', '--timeout', '3600', '--file', list]);
  assert.equal(timed.code, 0, timed.stderr);
  assert.deepEqual(elems('blocklist').slice(-2), [{ elem: { val: '198.18.0.7', timeout: 3600 } }, { elem: { val: '198.18.0.8', timeout: 3600 } }]);
  const del = await set(['del', '--set', 'inet/filter/blocklist', '--file', list]);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stderr, /0 added, 2 deleted/);
  const again = await set(['del', '--set', 'inet/filter/blocklist', '--file', list]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing changed/);
  assert.deepEqual(elems('blocklist'), ['198.18.0.1', '198.18.0.2']);

  const map = await set(['add', '--set', 'inet/filter/ports', '198.18.0.1 . 22 : accept', '198.18.0.1 . 23 : drop']);
  assert.equal(map.code, 0, map.stderr);
  assert.deepEqual(elems('ports'), [[{ concat: ['198.18.0.1', 22] }, { accept: null }], [{ concat: ['198.18.0.1', 23] }, { drop: null }]]);

  f.git(['branch', 'staging', 'main'], f.bare);
  const main = f.git(['rev-parse', 'main'], f.bare);
  const staged = await set(['add', '--set', 'inet/filter/blocklist', '--branch', 'staging', '198.18.0.9']);
  assert.equal(staged.code, 0, staged.stderr);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), main);
  assert.deepEqual(elems('blocklist', 'staging'), ['198.18.0.1', '198.18.0.2', '198.18.0.9']);

  const bad = await set(['add', '--set', 'inet/filter/blocklist', '198.18.0.300']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^nft-sync: NFTSYNC_ERR_ELEMENT_INVALID: cannot add element "198\.18\.0\.300" .*is not a valid ipv4_addr/);
  const noToken = await set(['add', '--set', 'inet/filter/blocklist', '198.18.0.3'], '');
  assert.match(noToken.stderr, /^nft-sync: NFTSYNC_ERR_AUTH_REQUIRED: /);
  for (const usage of [['add', '--set', 'inet/filter/blocklist'], ['add', '--set', 'inet/blocklist', '198.18.0.3'], ['put', '--set', 'inet/filter/blocklist', '198.18.0.3'], ['del', '--set', 'inet/filter/blocklist', '--timeout', '5', '198.18.0.3'], ['add', '--set', 'inet/filter/blocklist', '--file', list, '198.18.0.3']]) {
    const r = await set(usage);
    assert.equal(r.code, 2, `${usage.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^nft-sync: NFTSYNC_ERR_USAGE: /);
  }
  assert.equal(f.git(['rev-parse', 'main'], f.bare), main, 'nothing refused moved main');
});
