import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDeadline } from '../../../../server/wire/frame-deadline.js';

test('FrameDeadline: the handshake deadline is absolute (mock timers)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const d = new FrameDeadline(150, 100, (why) => fired.push(why));
  d.update(3);
  d.update(0); // frame completed: no frame deadline
  t.mock.timers.tick(149);
  assert.deepEqual(fired, []);
  t.mock.timers.tick(1);
  assert.equal(fired.length, 1);
  assert.match(fired[0]!, /no complete hello within 150 ms/);
  t.mock.timers.tick(10_000);
  assert.equal(fired.length, 1, 'each deadline fires once');
  d.clear();
});

test('FrameDeadline: the frame deadline runs only while a frame is unfinished, and is not pushed back by more bytes of it (mock timers)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const e = new FrameDeadline(1000, 100, (why) => fired.push(why));
  e.handshakeDone();
  t.mock.timers.tick(5000);
  assert.deepEqual(fired, [], 'no handshake deadline once it is done, no frame deadline with nothing pending');
  e.update(2);
  t.mock.timers.tick(60);
  e.update(5); // still the same frame: the deadline is not pushed back
  t.mock.timers.tick(39);
  assert.deepEqual(fired, []);
  t.mock.timers.tick(1);
  assert.equal(fired.length, 1);
  assert.match(fired[0]!, /frame took longer than 100 ms/);
  e.update(0);
  e.update(1); // a new frame gets a new deadline
  t.mock.timers.tick(99);
  assert.equal(fired.length, 1);
  e.clear();
  t.mock.timers.tick(1000);
  assert.equal(fired.length, 1, 'clear() stops it');
});
