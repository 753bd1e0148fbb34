/**
 * Deltas on the wire, with a real server and repository: an agent that offers the bytes of the
 * revision it has receives a delta, rebuilds the new bytes and gets exactly the blob; without
 * them, or with a `have` the repository does not hold, the whole ruleset comes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { SPARE_MIN_BYTES } from '../../../../agent/wire/delta-answers.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const DEFAULT = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };

/** default.json plus a blocklist, written one element a line (as `JSON.stringify(…, null, 1)`). */
function withBlocklist(elem: string[]): Buffer {
  return Buffer.from(JSON.stringify({ nftables: [...DEFAULT.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] }, null, 1));
}

test('a fetch offering the bytes it has gets a delta that rebuilds the blob; otherwise the whole ruleset', async (t) => {
  const f = await startServerFixture(t);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const addresses = Array.from({ length: 5000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const v1 = withBlocklist(addresses);
  const c1 = f.push({ 'rulesets/default.json': v1 }, 'v1');
  const first = await client.fetch({ ref: 'main' });
  assert.ok(first.kind === 'ruleset' && first.delta === undefined);

  const changed = [...addresses];
  for (let k = 0; k < 50; k++) changed.splice((k * 97) % 4900, 1, `198.19.0.${k}`);
  const v2 = withBlocklist(changed);
  f.push({ 'rulesets/default.json': v2 }, 'v2: 50 elements changed');
  const have = { commit: c1, blob: gitBlobId(v1) };

  const delta = await client.fetch({ ref: 'main', have, base: v1 });
  assert.equal(delta.kind, 'ruleset');
  if (delta.kind !== 'ruleset') return;
  assert.ok(delta.delta !== undefined, 'a delta came');
  assert.equal(delta.delta.base, have.blob);
  assert.ok(delta.delta.wireBytes * 20 < v2.length, `${delta.delta.wireBytes} bytes on the wire for ${v2.length}`);
  assert.deepEqual(delta.bytes, v2);
  assert.equal(gitBlobId(delta.bytes), delta.blob);

  const full = await client.fetch({ ref: 'main', have });
  assert.ok(full.kind === 'ruleset' && full.delta === undefined && full.bytes.equals(v2), 'no base offered: the whole ruleset');
  const unknown = await client.fetch({ ref: 'main', have: { commit: c1, blob: gitBlobId(Buffer.from('other')) }, base: Buffer.from('other') });
  assert.ok(unknown.kind === 'ruleset' && unknown.delta === undefined && unknown.bytes.equals(v2), 'a have the repository does not hold: the whole ruleset');
});

test('security: a delta is worked out once per base and target, for the whole fleet and for a client asking again and again', async (t) => {
  // Working a delta out reads both files line by line: 0.7 s of the event loop for a blocklist of
  // a million lines, 2.2 s against a base that differs throughout (a client may name any older
  // revision). Each agent, or one client repeating its fetch, used to pay it again.
  const f = await startServerFixture(t);
  const addresses = Array.from({ length: 3000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const v1 = withBlocklist(addresses);
  const c1 = f.push({ 'rulesets/default.json': v1 }, 'v1');
  const changed = [...addresses];
  for (let k = 0; k < 20; k++) changed.splice((k * 97) % 2900, 1, `198.19.0.${k}`);
  const v2 = withBlocklist(changed);
  f.push({ 'rulesets/default.json': v2 }, 'v2');
  const have = { commit: c1, blob: gitBlobId(v1) };
  const before = f.server.wire.frames.deltaEncodes;
  for (let i = 0; i < 4; i++) {
    const client = await WireClient.connect({ host: f.host, port: f.port, agent: `host-${i}` });
    t.after(() => client.close());
    for (let j = 0; j < 3; j++) {
      const r = await client.fetch({ ref: 'main', have, base: v1 });
      assert.ok(r.kind === 'ruleset' && r.delta !== undefined && r.bytes.equals(v2));
    }
  }
  assert.equal(f.server.wire.frames.deltaEncodes - before, 1, '12 fetches, one delta worked out');
});

test('a big delta (1 MiB and more): the bytes come back at once with blobCheck, which passes for the right bytes', async (t) => {
  const f = await startServerFixture(t);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const addresses = Array.from({ length: 70_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const v1 = withBlocklist(addresses);
  const c1 = f.push({ 'rulesets/default.json': v1 }, 'v1');
  const changed = [...addresses];
  for (let k = 0; k < 50; k++) changed.splice((k * 997) % 69_000, 1, `198.19.0.${k}`);
  const v2 = withBlocklist(changed);
  assert.ok(v2.length >= SPARE_MIN_BYTES);
  f.push({ 'rulesets/default.json': v2 }, 'v2');
  client.idle(v1);
  const r = await client.fetch({ ref: 'main', have: { commit: c1, blob: gitBlobId(v1) }, base: v1 });
  assert.ok(r.kind === 'ruleset' && r.delta !== undefined && r.blobCheck !== undefined, 'a delta, its id still being checked');
  if (r.kind !== 'ruleset' || r.blobCheck === undefined) return;
  assert.ok(r.bytes.equals(v2));
  assert.equal(await r.blobCheck(), undefined, 'the bytes are the announced blob');
  assert.equal(r.blob, gitBlobId(v2));
});
