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
  it('sleep ends early on abort', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(10_000, ac.signal);
    assert.ok(Date.now() - t0 < 5000);
  });
});
