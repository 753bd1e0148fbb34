import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDefaults, flattenDefaults, type DefaultsTable } from '../../../shared/check-defaults.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('checkDefaults', () => {
  it('returns a deep-frozen copy and leaves the table it was given alone', () => {
    const table = { a: { b: 1, list: [1, 2] }, word: 'x', on: true };
    const out = checkDefaults('test', table);
    assert.deepEqual(out, table);
    assert.ok(Object.isFrozen(out) && Object.isFrozen(out.a) && Object.isFrozen(out.a.list));
    assert.throws(() => ((out.a as { b: number }).b = 2), TypeError);
    assert.throws(() => (out.a.list as number[]).push(3), TypeError);
    assert.ok(!Object.isFrozen(table) && !Object.isFrozen(table.a));
  });
  for (const [what, bad] of [
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an unsafe integer', 2 ** 53],
    ['an empty word', ''],
    ['an empty list', []],
    ['a list with a fraction', [1, 0.5]],
    ['null', null],
    ['an empty group', {}],
  ] as const) {
    it(`refuses ${what} with NFTSYNC_ERR_CONFIG_INVALID naming the key`, () => {
      const err = expectCode(() => checkDefaults('server', { wire: { ok: 1, bad } } as unknown as DefaultsTable), 'NFTSYNC_ERR_CONFIG_INVALID');
      assert.match(err.message, /^server defaults: wire\.bad /);
    });
  }
  it('refuses a table whose rule does not hold, naming the rule', () => {
    const err = expectCode(() => checkDefaults('agent', { baseMs: 500, capMs: 100 }, [['baseMs <= capMs', (t) => t.baseMs <= t.capMs]]), 'NFTSYNC_ERR_CONFIG_INVALID');
    assert.match(err.message, /baseMs <= capMs does not hold/);
    assert.doesNotThrow(() => checkDefaults('agent', { baseMs: 100, capMs: 500 }, [['baseMs <= capMs', (t) => t.baseMs <= t.capMs]]));
  });
  it('flattens to dotted paths in declaration order', () => {
    assert.deepEqual([...flattenDefaults({ b: { y: 1, x: [1] }, a: 'w' })], [['b.y', 1], ['b.x', [1]], ['a', 'w']]);
  });
});
