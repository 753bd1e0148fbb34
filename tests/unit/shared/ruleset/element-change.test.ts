import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyElementChange } from '../../../../shared/ruleset/element-change.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { SHARED_DEFAULTS } from '../../../../shared/defaults.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const at = { family: 'inet', table: 'f', name: 'block' };
function ruleset(set: Record<string, unknown>, extra: unknown[] = []): Ruleset {
  return { nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { family: 'inet', table: 'f', name: 'block', type: 'ipv4_addr', ...set } }, ...extra] } as unknown as Ruleset;
}
const elemOf = (r: Ruleset) => (r.nftables[1] as { set: { elem?: unknown[] } }).set.elem;
const code = (fn: () => unknown): NftSyncError => {
  try {
    fn();
  } catch (err) {
    return err as NftSyncError;
  }
  throw new Error('no error');
};

describe('applyElementChange', () => {
  it('adds after the others (texts changed so share everything before) and deletes, counting what really changed', () => {
    const r = ruleset({ elem: ['198.18.0.1', '198.18.0.2'] });
    const out = applyElementChange(r, at, { add: ['198.18.0.3', '198.18.0.1'], delete: ['198.18.0.2', '198.18.0.9'] });
    assert.deepEqual(elemOf(r), ['198.18.0.1', '198.18.0.3']);
    assert.deepEqual(out, { kind: 'set', added: ['198.18.0.3'], deleted: ['198.18.0.2'] });
  });

  it('idempotent: the same change again changes nothing', () => {
    const r = ruleset({ elem: ['198.18.0.1'] });
    applyElementChange(r, at, { add: ['198.18.0.5'] });
    const again = applyElementChange(r, at, { add: ['198.18.0.5'] });
    assert.deepEqual([again.added, again.deleted], [[], []]);
    assert.deepEqual(elemOf(r), ['198.18.0.1', '198.18.0.5']);
  });

  it('creates elem in a set without one, and drops it when the last element goes', () => {
    const r = ruleset({});
    applyElementChange(r, at, { add: ['198.18.0.1'] });
    assert.deepEqual(elemOf(r), ['198.18.0.1']);
    applyElementChange(r, at, { delete: ['198.18.0.1'] });
    assert.equal(elemOf(r), undefined);
  });

  it('deletes from separate element items too, and drops an item left empty', () => {
    const r = ruleset({}, [{ element: { family: 'inet', table: 'f', name: 'block', elem: ['198.18.0.7'] } }]);
    const out = applyElementChange(r, at, { delete: ['198.18.0.7'] });
    assert.deepEqual(out.deleted, ['198.18.0.7']);
    assert.equal(r.nftables.length, 2);
  });

  it('a new timeout for a present element replaces it in place (counted as added)', () => {
    const r = ruleset({ flags: ['timeout'], elem: ['198.18.0.1', '198.18.0.2'] });
    const out = applyElementChange(r, at, { add: [{ elem: { val: '198.18.0.1', timeout: 60 } }] });
    assert.deepEqual(elemOf(r), [{ elem: { val: '198.18.0.1', timeout: 60 } }, '198.18.0.2']);
    assert.equal(out.added.length, 1);
  });

  it('maps: a key present with another value is replaced; deletion by key', () => {
    const r = { nftables: [{ table: { family: 'inet', name: 'f' } }, { map: { family: 'inet', table: 'f', name: 'block', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }]] } }] } as unknown as Ruleset;
    const out = applyElementChange(r, at, { add: [['198.18.0.1', 'drop'], ['198.18.0.2', 'accept']] });
    assert.equal(out.kind, 'map');
    assert.deepEqual((r.nftables[1] as { map: { elem: unknown[] } }).map.elem, [['198.18.0.1', { drop: null }], ['198.18.0.2', { accept: null }]]);
    applyElementChange(r, at, { delete: ['198.18.0.1'] });
    assert.deepEqual((r.nftables[1] as { map: { elem: unknown[] } }).map.elem, [['198.18.0.2', { accept: null }]]);
  });

  it('intervals: written forms match; an overlap is refused naming both', () => {
    const r = ruleset({ flags: ['interval'], elem: [{ prefix: { addr: '198.18.0.0', len: 16 } }] });
    const e = code(() => applyElementChange(r, at, { add: ['198.18.4.0/24'] }));
    assert.equal(e.code, 'NFTSYNC_ERR_ELEMENT_INVALID');
    assert.match(e.message, /"198\.18\.4\.0\/24".*overlaps \{"prefix":\{"addr":"198\.18\.0\.0","len":16\}\}, already in the set/);
    const out = applyElementChange(r, at, { delete: ['198.18.0.0/16'], add: ['198.18.4.0/24'] });
    assert.deepEqual(out.deleted, [{ prefix: { addr: '198.18.0.0', len: 16 } }]);
    assert.deepEqual(elemOf(r), [{ prefix: { addr: '198.18.4.0', len: 24 } }]);
  });

  it('refusals leave the ruleset unchanged and name the value and its place', () => {
    const r = ruleset({ elem: ['198.18.0.1'] });
    const before = JSON.stringify(r);
    const e = code(() => applyElementChange(r, at, { add: ['198.18.0.2', '198.18.0.256'] }));
    assert.equal(e.code, 'NFTSYNC_ERR_ELEMENT_INVALID');
    assert.match(e.message, /cannot add element "198\.18\.0\.256" \(add\[1\]\) to set inet f block: "198\.18\.0\.256" is not a valid ipv4_addr/);
    assert.deepEqual(e.data, { element: '198.18.0.256', list: 'add', index: 1, set: 'inet f block' });
    assert.match(code(() => applyElementChange(r, at, { add: ['198.18.0.2'], delete: ['198.18.0.2'] })).message, /also adds it/);
    assert.equal(JSON.stringify(r), before);
  });

  it('a reason that opens with the element does not make the message name it twice', () => {
    const e = code(() => applyElementChange(ruleset({}), at, { add: [{ elem: { val: '198.18.0.99', timeout: 5 } }] }));
    assert.equal(e.message, 'cannot add element {"elem":{"val":"198.18.0.99","timeout":5}} (add[0]) to set inet f block: a timeout needs a set with flags timeout, and this one has none; nothing was changed');
  });

  it('an unknown set: SET_NOT_FOUND listing the ones there are', () => {
    const e = code(() => applyElementChange(ruleset({}), { ...at, name: 'nope' }, { add: ['198.18.0.1'] }));
    assert.equal(e.code, 'NFTSYNC_ERR_SET_NOT_FOUND');
    assert.match(e.message, /no set or map inet\/f\/nope \(it has inet\/f\/block\)/);
  });
});

describe('applyElementChange: hostile elements', () => {
  it('an element of megabytes is named clipped, in the message and in data (a 30 MB string was echoed twice: a 60 MB answer and 2 s of blocked event loop)', () => {
    for (const [set, raw] of [[{}, 'x'.repeat(1_000_000)], [{}, { elem: { val: '198.18.0.1', comment: 'c'.repeat(1_000_000) } }], [{ type: 'ct_state' }, { elem: { val: 'new', bogus: 'b'.repeat(1_000_000) } }]] as const) {
      const err = code(() => applyElementChange(ruleset(set), at, { add: [raw] }));
      assert.equal(err.code, 'NFTSYNC_ERR_ELEMENT_INVALID');
      assert.ok(err.message.length < 2000, `message of ${err.message.length} characters`);
      assert.ok(JSON.stringify(err.data).length < 2000, `data of ${JSON.stringify(err.data).length} characters`);
      assert.match(err.message, /…/);
    }
  });
  it('an element larger than elements.maxElementChars is refused by its size, before it is read or repeated (a 30 MB string cost a second of event loop in the type checks and the message)', () => {
    const max = SHARED_DEFAULTS.elements.maxElementChars;
    for (const [list, raw] of [['add', 'x'.repeat(max + 1)], ['delete', 'x'.repeat(max + 1)], ['add', { elem: { val: '198.18.0.1', comment: 'c'.repeat(max) } }], ['add', Array.from({ length: max }, () => 1)]] as const) {
      const err = code(() => applyElementChange(ruleset({}), at, { [list]: ['198.18.0.7', raw] }));
      assert.equal(err.code, 'NFTSYNC_ERR_ELEMENT_INVALID');
      assert.match(err.message, new RegExp(`${list}\\[1\\].*larger than ${max} characters`));
      assert.deepEqual({ ...(err.data as object), element: undefined }, { element: undefined, list, index: 1, set: 'inet f block' });
    }
    // At the limit, the usual checks judge it.
    assert.match(code(() => applyElementChange(ruleset({}), at, { add: ['x'.repeat(max - 2)] })).message, /is not a valid ipv4_addr/);
  });
  it('takes as many elements as elements.maxPerChange allows in one change (200,000 overflowed the stack: a retryable 500)', () => {
    const n = 200_000;
    const ips = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const r = ruleset({ elem: ['198.18.0.1'] });
    assert.equal(applyElementChange(r, at, { add: ips }).added.length, n);
    assert.equal(elemOf(r)!.length, n + 1);
    assert.equal(elemOf(r)![0], '198.18.0.1', 'new elements go after the others');
  });
});
