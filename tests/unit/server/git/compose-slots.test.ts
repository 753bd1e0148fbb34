/** The bound on big composes at once: slots taken at most `size`, waiters served in order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ComposeSlots } from '../../../../server/git/compose-slots.js';

test('at most `size` slots are taken; the rest wait, and are served in the order they asked', async () => {
  const slots = new ComposeSlots(2);
  assert.equal(slots.tryTake(), true);
  assert.equal(slots.tryTake(), true);
  assert.equal(slots.tryTake(), false);
  const order: number[] = [];
  const waits = [1, 2, 3].map((i) => slots.take().then(() => order.push(i)));
  assert.equal(slots.waiting, 3);
  slots.give();
  slots.give();
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(order, [1, 2]);
  assert.equal(slots.taken, 2);
  slots.give();
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3]);
  slots.give();
  slots.give();
  assert.equal(slots.taken, 0);
  slots.give(); // one too many: never below 0
  assert.equal(slots.taken, 0);
  assert.equal(new ComposeSlots(0).tryTake(), true, 'a size below 1 still lets one through');
});
