/** Expiring elements: which a revision declares, and putting back into a listing those the kernel expired. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiringElements, withExpiredElements } from '../../../../shared/drift/expired-elements.js';
import { diffNormalised, normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const set = (name: string, extra: Record<string, unknown>) => ({ set: { family: 'inet', table: 't', name, type: 'ipv4_addr', ...extra } });
const map = (extra: Record<string, unknown>) => ({ map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', ...extra } });
const rs = (...items: unknown[]) => ({ nftables: [{ table: { family: 'inet', name: 't' } }, ...items] }) as Ruleset;
const T1 = { elem: { val: '198.18.0.1', timeout: 2 } };

const declared = rs(
  set('tmo', { flags: ['timeout'], elem: [T1, '198.18.0.2'] }),
  set('dflt', { flags: ['timeout'], timeout: 5, elem: ['198.18.0.3'] }),
  set('plain', { elem: ['198.18.0.4'] }),
  map({ flags: ['timeout'], elem: [[{ elem: { val: '198.18.0.5', timeout: 3 } }, { accept: null }], ['198.18.0.6', { drop: null }]] }),
);

test('expiringElements: elements with their own timeout, every element of a set with a default timeout, map keys too', () => {
  assert.deepEqual(Object.fromEntries(expiringElements(declared)), {
    'inet t tmo': [T1],
    'inet t dflt': ['198.18.0.3'],
    'inet t m': [[{ elem: { val: '198.18.0.5', timeout: 3 } }, { accept: null }]],
  });
});

test('withExpiredElements: expired elements are put back as declared, so the comparison finds no difference', () => {
  const listing = rs(set('tmo', { flags: ['timeout'], elem: ['198.18.0.2'] }), set('dflt', { flags: ['timeout'], timeout: 5 }), set('plain', { elem: ['198.18.0.4'] }), map({ flags: ['timeout'], elem: [['198.18.0.6', { drop: null }]] }));
  const back = withExpiredElements(listing, declared);
  assert.deepEqual(diffNormalised(normaliseRuleset(declared), normaliseRuleset(back)), []);
  assert.notEqual(back, listing);
  assert.deepEqual((listing.nftables[1] as { set: { elem: unknown[] } }).set.elem, ['198.18.0.2'], 'the listing itself is not modified');
});

test('withExpiredElements: a live element (listed with expires) is not doubled; anything else missing stays a difference', () => {
  const live = rs(set('tmo', { flags: ['timeout'], elem: [{ elem: { val: '198.18.0.1', timeout: 2, expires: 1 } }] }), set('dflt', { flags: ['timeout'], timeout: 5, elem: [{ elem: { val: '198.18.0.3', expires: 4 } }] }), set('plain', { elem: [] }));
  const back = withExpiredElements(live, declared);
  const diff = diffNormalised(normaliseRuleset(declared), normaliseRuleset(back));
  assert.ok(diff.some((d) => d.includes('198.18.0.2')), `a plain element removed is a difference: ${diff.join('; ')}`);
  assert.ok(diff.some((d) => d.includes('198.18.0.4')));
  assert.ok(!diff.some((d) => d.includes('198.18.0.1') || d.includes('198.18.0.3')), diff.join('; '));
  assert.ok(diff.some((d) => d.includes('map inet t m')), 'a map deleted is a change: nothing is put back into it');
});

test('withExpiredElements: nothing expiring declared, nothing missing: the listing itself', () => {
  const listing = rs(set('plain', { elem: ['198.18.0.4'] }));
  assert.equal(withExpiredElements(listing, rs(set('plain', { elem: ['198.18.0.4'] }))), listing);
  assert.equal(withExpiredElements(declared, declared), declared);
});
