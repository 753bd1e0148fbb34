/** The per-address read budget: a token bucket shared by the connections of one address. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadBudget } from '../../../../server/wire/read-budget.js';

describe('ReadBudget', () => {
  it('lets a burst through, then asks the reader to wait as long as the bucket needs to refill', () => {
    let now = 0;
    const b = new ReadBudget({ bytesPerSecond: 1000, burstBytes: 2000, now: () => now });
    b.open('10.0.0.1');
    assert.equal(b.spend('10.0.0.1', 2000), 0);
    assert.equal(b.spend('10.0.0.1', 500), 500, '500 bytes over at 1000 B/s: wait 500 ms');
    now += 500;
    assert.equal(b.spend('10.0.0.1', 0), 0);
    now += 10_000;
    assert.equal(b.spend('10.0.0.1', 2000), 0, 'refilled, but never above the burst');
    assert.ok(b.spend('10.0.0.1', 1) > 0);
  });

  it('is shared by the connections of one address and separate between addresses; forgotten when unused', () => {
    const now = 0;
    const b = new ReadBudget({ bytesPerSecond: 1000, burstBytes: 1000, now: () => now });
    b.open('a');
    b.open('a');
    b.open('b');
    assert.equal(b.spend('a', 600), 0);
    assert.ok(b.spend('a', 600) > 0, 'the second connection of a shares the bucket');
    assert.equal(b.spend('b', 1000), 0);
    b.close('a');
    b.close('a');
    assert.equal(b.spend('a', 10_000), 0, 'no connection of a: no bucket');
  });
});
