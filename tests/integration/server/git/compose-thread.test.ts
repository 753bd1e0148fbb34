/**
 * Big rulesets are composed in a worker thread: the same bytes as composeRulesetText, the same
 * error codes and data, and the event loop free meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ComposeThread } from '../../../../server/git/compose-thread.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { NftSyncError } from '../../../../shared/errors.js';

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const set = { family: 'inet', table: 'f', name: 'block' };
const base = (n: number) => ({
  path: 'rulesets/big.json',
  bytes: renderRuleset({ nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { ...set, type: 'ipv4_addr', elem: Array.from({ length: n }, (_, i) => ip(i)) } }] }),
});

test('files given as Buffers (as the repository reads them) are composed as such, not as text of their numbers', async (t) => {
  const thread = new ComposeThread();
  t.after(() => thread.close());
  const b = base(20);
  const files = [renderChangeFile(set, [ip(400)], [ip(3)])];
  const asBuffers = { base: { path: b.path, bytes: Buffer.from(b.bytes) }, changes: files.map((f, i) => ({ path: `c${i}`, bytes: Buffer.from(f) })) };
  const bytes = await thread.compose(asBuffers.base, asBuffers.changes);
  assert.ok(bytes.equals(Buffer.from(composeRulesetText(b, files.map((f, i) => ({ path: `c${i}`, bytes: f }))))));
});

test('composes in a worker the bytes composeRulesetText gives, while the event loop goes on', async (t) => {
  const thread = new ComposeThread();
  t.after(() => thread.close());
  const b = base(300_000);
  const changes = [{ path: 'rulesets/big.elements/000001.json', bytes: renderChangeFile(set, [ip(400_000), ip(400_001)], [ip(5), ip(299_999)]) }];
  await thread.compose(base(10), []); // the worker started
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const bytes = await thread.compose(b, changes);
  clearInterval(timer);
  assert.ok(bytes.equals(Buffer.from(composeRulesetText(b, changes))));
  assert.ok(ticks > 0, 'timers ran while the worker composed (composing here would hold them until done)');
});

test('an error keeps its code, message and data; the worker goes on serving', async (t) => {
  const thread = new ComposeThread();
  t.after(() => thread.close());
  const bad = [{ path: 'rulesets/big.elements/000001.json', bytes: renderChangeFile({ ...set, name: 'nope' }, [ip(1)], []) }];
  const err = await thread.compose(base(10), bad).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof NftSyncError);
  assert.equal(err.code, 'NFTSYNC_ERR_SET_NOT_FOUND');
  assert.match(err.message, /^rulesets\/big\.elements\/000001\.json: /);
  assert.equal(err.data?.path, 'rulesets/big.elements/000001.json');
  assert.ok((await thread.compose(base(3), [])).equals(Buffer.from(base(3).bytes)));
});

test('after close, a request is composed again in a new worker', async () => {
  const thread = new ComposeThread();
  await thread.compose(base(3), []);
  await thread.close();
  assert.ok((await thread.compose(base(4), [])).equals(Buffer.from(base(4).bytes)));
  await thread.close();
});

test('follow: the element API\'s tip built in the worker answers and goes on as one built here; a base it cannot follow gives undefined', async (t) => {
  const thread = new ComposeThread();
  t.after(() => thread.close());
  const b = base(50_000);
  const files = [renderChangeFile(set, [ip(60_000)], [ip(7)])];
  const moved = await thread.follow(Buffer.from(b.bytes), files.map((f) => Buffer.from(f)));
  assert.ok(moved);
  assert.ok(moved.text()!.equals(Buffer.from(composeRulesetText(b, files.map((bytes, i) => ({ path: `c${i}`, bytes }))))));
  const planned = moved.plan(set, { add: [ip(60_001)], delete: [ip(60_000)] })!;
  files.push(renderChangeFile(set, planned.added, planned.deleted));
  assert.equal(moved.apply(parseChangeFile(files[1]!)), true);
  assert.ok(moved.text()!.equals(Buffer.from(composeRulesetText(b, files.map((bytes, i) => ({ path: `c${i}`, bytes }))))));
  assert.equal(await thread.follow(Buffer.from('{"nftables": 1}'), []), undefined);
});

test('close() while requests are in flight: each is composed here instead, the same bytes, the error with its code; then a new worker serves', async () => {
  const thread = new ComposeThread();
  const b = base(50_000);
  const changes = [{ path: 'rulesets/big.elements/000001.json', bytes: renderChangeFile(set, [ip(60_000)], [ip(7)]) }];
  const bad = [{ path: 'rulesets/big.elements/000001.json', bytes: renderChangeFile({ ...set, name: 'nope' }, [ip(1)], []) }];
  const inFlight = [thread.compose(b, changes), thread.compose(b, bad).then(() => undefined, (e: unknown) => e), thread.follow(Buffer.from(b.bytes), [Buffer.from(changes[0]!.bytes)])];
  await thread.close();
  const [text, err, followed] = await Promise.all(inFlight);
  assert.ok((text as Buffer).equals(Buffer.from(composeRulesetText(b, changes))));
  assert.ok(err instanceof NftSyncError);
  assert.equal(err.code, 'NFTSYNC_ERR_SET_NOT_FOUND');
  assert.equal(err.data?.path, 'rulesets/big.elements/000001.json');
  assert.ok(followed !== undefined);
  const again = await thread.compose(base(10), []);
  assert.ok(again.equals(Buffer.from(composeRulesetText(base(10), []))));
  await thread.close();
});
