import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionHub, type MoveListener } from '../../../../server/wire/subscription-hub.js';

function recorder(): MoveListener & { calls: Array<[string, string, string | undefined]> } {
  const calls: Array<[string, string, string | undefined]> = [];
  return { calls, moved: (ref, commit, tag) => void calls.push([ref, commit, tag]) };
}

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);

test('a tracked pattern whose chosen tag changes on the same commit is a move', async () => {
  let now: { commit: string; tag: string } = { commit: C1, tag: 'v1.0.0' };
  const hub = new SubscriptionHub(async () => now);
  const l = recorder();
  hub.add('track:v*', C1, l, 'v1.0.0');
  await hub.refresh();
  assert.deepEqual(l.calls, [], 'nothing changed');
  now = { commit: C1, tag: 'v1.1.0' };
  await hub.refresh();
  assert.deepEqual(l.calls, [['track:v*', C1, 'v1.1.0']]);
  now = { commit: C2, tag: 'v1.1.0' };
  await hub.refresh();
  assert.deepEqual(l.calls.at(-1), ['track:v*', C2, 'v1.1.0']);
  await hub.refresh();
  assert.equal(l.calls.length, 2);
});

test('a plain ref (resolved to a commit id) moves only when its commit does', async () => {
  let commit = C1;
  const hub = new SubscriptionHub(async () => commit);
  const l = recorder();
  hub.add('main', C1, l);
  await hub.refresh();
  assert.deepEqual(l.calls, []);
  commit = C2;
  await hub.refresh();
  assert.deepEqual(l.calls, [['main', C2, undefined]]);
});

test('current() gives what a followed ref resolved to at the last refresh (rollouts re-ask with it)', async () => {
  let now: { commit: string; tag: string } = { commit: C1, tag: 'v1.0.0' };
  const hub = new SubscriptionHub(async () => now);
  assert.equal(hub.current('track:v*'), undefined, 'nobody follows it');
  hub.add('track:v*', C1, recorder(), 'v1.0.0');
  hub.add('later', '', recorder());
  assert.deepEqual(hub.current('track:v*'), { commit: C1, tag: 'v1.0.0' });
  assert.equal(hub.current('later'), undefined, 'a ref that does not exist yet');
  now = { commit: C2, tag: 'v1.1.0' };
  await hub.refresh();
  assert.deepEqual(hub.current('track:v*'), { commit: C2, tag: 'v1.1.0' });
});

test('10,000 subscribers are told in batches: the event loop serves other work between them, and everyone is told once', async () => {
  let now = C1;
  const hub = new SubscriptionHub(async () => now);
  let told = 0;
  let toldWhenLoopRan: number | undefined;
  const listeners: MoveListener[] = Array.from({ length: 10_000 }, () => ({
    moved: () => {
      // The first notification schedules other work (as a fetch or an API request would arrive).
      if (told === 0) setImmediate(() => (toldWhenLoopRan = told));
      told += 1;
    },
  }));
  for (const l of listeners) hub.add('main', C1, l);
  // One that leaves while the others are being told is not told.
  const leaver = listeners[9_999]!;
  setImmediate(() => hub.remove(leaver));
  now = C2;
  await hub.refresh();
  assert.equal(told, 9_999);
  assert.ok(toldWhenLoopRan !== undefined && toldWhenLoopRan < 9_999, `other work ran only after ${toldWhenLoopRan} of 10,000 were told`);
  assert.ok(toldWhenLoopRan! <= 512, `the loop waited for ${toldWhenLoopRan} notifications`);
});
