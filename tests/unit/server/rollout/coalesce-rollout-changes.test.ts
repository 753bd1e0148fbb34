import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesceRolloutChanges } from '../../../../server/rollout/coalesce-rollout-changes.js';

test('security: 30,000 rollout names changed in one turn (a flapping primary) reach the wire as one set, once; a later turn is announced again', async () => {
  const calls: Array<ReadonlySet<string>> = [];
  const onChange = coalesceRolloutChanges((names) => calls.push(names));
  for (let i = 0; i < 30_000; i++) onChange(`r${i % 15_000}`);
  assert.equal(calls.length, 0, 'nothing before the turn ends');
  await Promise.resolve();
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.size, 15_000);
  onChange('main');
  await Promise.resolve();
  assert.deepEqual(calls.map((c) => [...c].length), [15_000, 1]);
  assert.deepEqual([...calls[1]!], ['main']);
});
