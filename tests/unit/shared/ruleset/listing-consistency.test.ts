import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { elementKey, inconsistentSets } from '../../../../shared/ruleset/listing-consistency.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const set = (name: string, elem: unknown[], map?: string) => ({ [map ? 'map' : 'set']: { family: 'inet', table: 't', name, type: 'ipv4_addr', ...(map ? { map } : {}), elem } });

describe('inconsistentSets', () => {
  test('a listing whose sets hold each key once is consistent', () => {
    const listing = {
      nftables: [
        { table: { family: 'inet', name: 't' } },
        set('a', ['10.0.0.1', '10.0.0.2', { elem: { val: '10.0.0.3', timeout: 60 } }]),
        set('b', [{ prefix: { addr: '10.0.0.0', len: 8 } }, { range: ['11.0.0.1', '11.0.0.9'] }]),
        set('m', [['10.0.0.1', 22], ['10.0.0.2', 22]], 'inet_service'),
        set('empty', []),
      ],
    } as unknown as Ruleset;
    assert.deepEqual(inconsistentSets(listing), []);
  });

  test('a set or map that repeats a key (a listing taken while the kernel resized it) is named', () => {
    // The shape nft printed for the first listing after a 1,000,000-element load: as many
    // elements as declared, some twice, as many others missing.
    const listing = {
      nftables: [
        set('fine', ['10.0.0.1', '10.0.0.2']),
        set('torn', ['10.0.0.1', '10.0.0.2', '10.0.0.1']),
        set('torn2', [{ elem: { val: '10.0.0.1', expires: 5 } }, { elem: { val: '10.0.0.1', expires: 4 } }]),
        set('tornmap', [['10.0.0.1', 22], ['10.0.0.1', 22]], 'inet_service'),
      ],
    } as unknown as Ruleset;
    assert.deepEqual(inconsistentSets(listing), ['inet t torn', 'inet t torn2', 'inet t tornmap']);
  });

  test('elementKey: the element, its val, or a map pair\'s key', () => {
    assert.equal(elementKey('10.0.0.1'), '10.0.0.1');
    assert.equal(elementKey({ elem: { val: '10.0.0.1', comment: 'x' } }), '10.0.0.1');
    assert.equal(elementKey(['10.0.0.1', { jump: { target: 'c' } }]), '10.0.0.1');
    assert.equal(elementKey({ concat: ['10.0.0.1', 22] }), '{"concat":["10.0.0.1",22]}');
    assert.equal(elementKey(22), '22');
  });
});
