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

test('withExpiredElements: an element whose own timeout is its set\'s default matches nft\'s listing of it (without one); loadedMs keeps elements that cannot have expired out (review)', () => {
  const declared = {
    nftables: [
      { table: { family: 'inet', name: 't' } },
      { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags: ['timeout'], timeout: 3600, elem: [{ elem: { val: '198.18.0.1', timeout: 3600 } }, { elem: { val: '198.18.0.2', timeout: 60 } }, { elem: { val: '198.18.0.3', timeout: 1 } }] } },
    ],
  } as unknown as Ruleset;
  // As nft 1.0.6 lists it a moment later: 198.18.0.1 without its timeout, 198.18.0.3 expired.
  const listing = {
    nftables: [
      { table: { family: 'inet', name: 't', handle: 1 } },
      { set: { family: 'inet', name: 's', table: 't', type: 'ipv4_addr', handle: 1, flags: ['timeout'], timeout: 3600, elem: [{ elem: { val: '198.18.0.1', expires: 3599 } }, { elem: { val: '198.18.0.2', timeout: 60, expires: 59 } }] } },
    ],
  } as unknown as Ruleset;
  assert.deepEqual(diffNormalised(normaliseRuleset(declared), normaliseRuleset(withExpiredElements(listing, declared))), []);
  assert.deepEqual(diffNormalised(normaliseRuleset(declared), normaliseRuleset(withExpiredElements(listing, declared, { loadedMs: 2500 }))), [], '1 s has passed: 198.18.0.3 may have expired');
  const early = diffNormalised(normaliseRuleset(declared), normaliseRuleset(withExpiredElements(listing, declared, { loadedMs: 0 })));
  assert.deepEqual(early, [], 'just loaded: 198.18.0.3 (1 s) may have expired all the same (a second of slack)');
  const gone = { nftables: [listing.nftables[0]!, { set: { ...(listing.nftables[1] as { set: Record<string, unknown> }).set, elem: [] } }] } as unknown as Ruleset;
  const missing = diffNormalised(normaliseRuleset(declared), normaliseRuleset(withExpiredElements(gone, declared, { loadedMs: 2500 })));
  assert.match(missing.join('\n'), /198\.18\.0\.1/, 'a 3600 s element missing 2.5 s after a full load is a difference');
  assert.match(missing.join('\n'), /198\.18\.0\.2/, 'so is a 60 s one');
  assert.doesNotMatch(missing.join('\n'), /198\.18\.0\.3/);
  // An element declared with `expires` shorter than its timeout lives that long (review).
  const expiring = { nftables: [declared.nftables[0]!, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags: ['timeout'], timeout: 3600, elem: [{ elem: { val: '198.18.0.9', expires: 1 } }] } }] } as unknown as Ruleset;
  assert.deepEqual(diffNormalised(normaliseRuleset(expiring), normaliseRuleset(withExpiredElements(gone, expiring, { loadedMs: 2500 }))), []);
});
