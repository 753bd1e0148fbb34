/**
 * Fetches resolve branches and tags from the ref watcher's copy in memory, not by reading ref
 * files per request (during a fan-out every agent fetches at once, and those reads were most of
 * the server's CPU). The ref file reader is wrapped to count its calls; everything else is real:
 * a real repository, real pushes with the git client, real sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { readRef } from '../../../../server/git/read-refs.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

test('fetches and subscriptions read no ref file once the server runs, and still see each push at once', async (t) => {
  let reads = 0;
  const f = await startServerFixture(t, {
    repository: {
      readRefFile: (...args: Parameters<typeof readRef>) => {
        reads += 1;
        return readRef(...args);
      },
    },
  });
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  const head = f.git(['rev-parse', 'HEAD']);
  reads = 0;
  await c.subscribe('main');
  for (let i = 0; i < 20; i++) assert.equal((await c.fetch({ ref: 'main', ruleset: 'default' })).commit, head);
  assert.equal(reads, 0, 'ref files read for fetches of main');
  // A push, then at once a fetch (no wait for `moved`): the answer is the pushed commit.
  const next = f.push({ 'rulesets/default.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'filter' } }] }) });
  assert.equal((await c.fetch({ ref: 'main', ruleset: 'default' })).commit, next);
  assert.equal((await c.fetch({ ref: 'HEAD', ruleset: 'default' })).commit, next);
  // A tag pushed a moment ago, fetched at once.
  f.git(['tag', '-a', 'v1.0.0', '-m', 'release']);
  f.git(['push', '-q', 'origin', 'v1.0.0']);
  assert.equal((await c.fetch({ ref: 'v1.0.0', ruleset: 'default' })).commit, next);
  assert.equal((await c.fetch({ ref: 'v*', track: true, ruleset: 'default' })).tag, 'v1.0.0');
  assert.equal(reads, 0, 'ref files read for fetches after pushes');
});

test('50 agents fetching the same revision share one encoded answer; a push makes one more', async (t) => {
  const f = await startServerFixture(t);
  const agents = await Promise.all(Array.from({ length: 50 }, (_, i) => WireClient.connect({ host: f.host, port: f.port, agent: `web-${i}` })));
  t.after(() => agents.forEach((a) => a.close()));
  const before = f.server.wire.frames.encodes;
  const answers = await Promise.all(agents.map((a) => a.fetch({ ref: 'main', ruleset: 'default' })));
  assert.ok(answers.every((r) => r.kind === 'ruleset' && r.bytes.equals((answers[0] as { bytes: Buffer }).bytes)));
  assert.equal(f.server.wire.frames.encodes - before, 1);
  f.push({ 'rulesets/default.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'x' } }] }) });
  await Promise.all(agents.map((a) => a.fetch({ ref: 'main', ruleset: 'default' })));
  assert.equal(f.server.wire.frames.encodes - before, 2);
});
