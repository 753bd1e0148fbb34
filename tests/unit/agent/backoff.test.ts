import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, sleep } from '../../../agent/backoff.js';

describe('Backoff', () => {
  it('doubles up to the cap, never below half the bound', () => {
    const lo = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lo.next()), [50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => hi.next()), [100, 200, 400, 800, 1000]);
  });
  it('is jittered: delays differ between agents', () => {
    const a = Array.from({ length: 20 }, () => new Backoff({ baseMs: 1000, capMs: 1000 }).next());
    assert.ok(new Set(a).size > 1);
    assert.ok(a.every((d) => d >= 500 && d <= 1000));
  });
  it('reset starts from the base again', () => {
    const b = new Backoff({ baseMs: 100, capMs: 10_000, random: () => 0 });
    b.next(); b.next(); b.next();
    b.reset();
    assert.equal(b.next(), 50);
  });
  it('sleep ends on abort, not at its time; and at its time without one (mock timers)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const ac = new AbortController();
    let ended = false;
    const slept = sleep(10_000, ac.signal).then(() => (ended = true));
    t.mock.timers.tick(9_999);
    await Promise.resolve();
    assert.equal(ended, false);
    ac.abort();
    await slept;
    assert.equal(ended, true);
    let timed = false;
    const plain = sleep(1000).then(() => (timed = true));
    t.mock.timers.tick(999);
    await Promise.resolve();
    assert.equal(timed, false);
    t.mock.timers.tick(1);
    await plain;
    assert.equal(timed, true);
  });
});
