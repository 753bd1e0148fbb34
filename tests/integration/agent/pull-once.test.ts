/**
 * agent/pull-once.ts: one pull against a real server, real nft in a throwaway namespace: applied,
 * then already in force, the status reported to the server; --server A,B failing over to the
 * first that answers; a stop before anything was applied changes nothing; a refused revision throws.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pullOnce } from '../../../agent/pull-once.js';
import { createNftRunner } from '../../../host/nft-runner.js';
import { freePort } from '../../helpers/cli-process.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeStateDir } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';

const table = (name: string) => `{"nftables": [{"table": {"family": "inet", "name": "${name}"}}]}\n`;

test('pullOnce: applied, then already in force (reported to the server); a dead first --server is skipped; aborted before: NFTSYNC_ERR_INTERRUPTED and nothing changed', async (t) => {
  const f = await startServerFixture(t);
  const commit = f.push({ 'rulesets/default.json': table('pulled_once') }, 'one');
  const ns = createNetns(t, 'pull1');
  const dead = await freePort();
  const opts = { host: f.host, port: f.port, agent: 'host-1', ref: 'main', nft: createNftRunner(ns.nftCommand), stateDir: makeStateDir(t), logger: quietLogger, confirmWindowMs: 0 };
  const stopped = new AbortController();
  stopped.abort('SIGINT');
  await assert.rejects(pullOnce(opts, stopped.signal), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_INTERRUPTED' && /SIGINT before anything was applied/.test(err.message));
  assert.doesNotMatch(ns.nft(['list', 'tables']), /pulled_once/);
  const first = await pullOnce({ ...opts, servers: [{ host: '127.0.0.1', port: dead }, { host: f.host, port: f.port }] });
  assert.equal(first.kind, 'applied');
  assert.equal(first.commit, commit);
  assert.match(ns.nft(['list', 'tables']), /table inet pulled_once/);
  await waitFor(() => f.server.wire.registry.get('host-1')?.status?.commit === commit, { what: 'the status reported' });
  const again = await pullOnce(opts);
  assert.equal(again.kind, 'unchanged');
  f.push({ 'rulesets/default.json': '{"nftables": [{"table": {"family": "inet"}}]}' }, 'broken');
  await assert.rejects(pullOnce(opts), (err: Error & { code?: string }) => typeof err.code === 'string' && err.code.startsWith('NFTSYNC_ERR_'));
  assert.match(ns.nft(['list', 'tables']), /table inet pulled_once/, 'the ruleset in force stays');
});

test('pullOnce returns with the state directory settled: the previous revision\'s applied file is gone, and nothing changes the directory after', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': table('settled_one') }, 'one');
  const ns = createNetns(t, 'pull2');
  const stateDir = makeStateDir(t);
  const opts = { host: f.host, port: f.port, agent: 'host-2', ref: 'main', nft: createNftRunner(ns.nftCommand), stateDir, logger: quietLogger, confirmWindowMs: 0 };
  assert.equal((await pullOnce(opts)).kind, 'applied');
  f.push({ 'rulesets/default.json': table('settled_two') }, 'two');
  assert.equal((await pullOnce(opts)).kind, 'applied');
  const listing = () => readdirSync(stateDir).filter((n) => n.startsWith('applied-')).sort();
  const atReturn = listing();
  assert.equal(atReturn.length, 1, `one applied file when pullOnce returns: ${atReturn.join(', ')}`);
  // A file the caller puts there now stays: no pruning left running behind the return.
  writeFileSync(join(stateDir, 'applied-0000000000000000000000000000000000000000.json'), '{}');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(listing().length, 2);
});
