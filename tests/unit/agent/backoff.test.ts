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

describe('Backoff.afterDrop', () => {
  it('spreads the first reconnect after a drop uniformly over dropSpreadMs (capped by capMs), without counting an attempt', () => {
    assert.equal(new Backoff({ random: () => 0 }).afterDrop(), 0);
    assert.equal(new Backoff({ random: () => 0.5 }).afterDrop(), 2500, 'default spread of 5 s');
    assert.equal(new Backoff({ capMs: 200, random: () => 0.999999 }).afterDrop(), 200);
    const b = new Backoff({ baseMs: 100, dropSpreadMs: 10_000, random: () => 0 });
    b.afterDrop();
    assert.equal(b.next(), 50, 'the next failure starts from the base');
    const spread = Array.from({ length: 1000 }, () => new Backoff().afterDrop());
    assert.ok(Math.min(...spread) < 500 && Math.max(...spread) > 4500, 'ten thousand agents come back over seconds');
  });

  it('to the next server (--server A,B), over failoverSpreadMs (2 s by default): failover within seconds, still spread', () => {
    assert.equal(new Backoff({ random: () => 0.5 }).afterDrop('next server'), 1000);
    assert.equal(new Backoff({ random: () => 0.999999 }).afterDrop('next server'), 2000);
    assert.equal(new Backoff({ failoverSpreadMs: 300, random: () => 0.999999 }).afterDrop('next server'), 300);
    assert.equal(new Backoff({ random: () => 0.5 }).afterDrop('same server'), 2500);
  });
});
