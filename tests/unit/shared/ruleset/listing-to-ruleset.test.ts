import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listingToRuleset } from '../../../../shared/ruleset/listing-to-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

describe('listingToRuleset', () => {
  test('drops handles and volatile metainfo, zeroes counters, orders chains before sets and rules last', () => {
    const listing = {
      nftables: [
        { metainfo: { version: '1.0.6', release_name: 'x', json_schema_version: 1 } },
        { table: { family: 'inet', name: 't', handle: 1 } },
        { map: { family: 'inet', table: 't', name: 'm', type: 'inet_service', map: 'verdict', handle: 3, elem: [[22, { jump: { target: 'c2' } }]] } },
        { counter: { family: 'inet', table: 't', name: 'k', handle: 4, packets: 7, bytes: 900 } },
        { chain: { family: 'inet', table: 't', name: 'c1', handle: 1 } },
        { rule: { family: 'inet', table: 't', chain: 'c1', handle: 5, expr: [{ accept: null }] } },
        { chain: { family: 'inet', table: 't', name: 'c2', handle: 2 } },
        { rule: { family: 'inet', table: 't', chain: 'c1', handle: 6, expr: [{ drop: null }] } },
      ],
    } as unknown as Ruleset;
    const r = listingToRuleset(listing);
    assert.deepEqual(r.nftables.map((i) => Object.keys(i)[0]), ['metainfo', 'table', 'chain', 'chain', 'counter', 'map', 'rule', 'rule']);
    assert.deepEqual(r.nftables[0], { metainfo: { json_schema_version: 1 } });
    assert.ok(!JSON.stringify(r).includes('handle'));
    assert.deepEqual((r.nftables[4] as unknown as { counter: { packets: number } }).counter.packets, 0);
    assert.deepEqual(r.nftables.slice(6).map((i) => JSON.stringify((i as { rule: { expr: unknown } }).rule.expr)), ['[{"accept":null}]', '[{"drop":null}]']);
  });
  test('elements lose the time they have left (expires); one left with its value alone is that value', () => {
    const listing = {
      nftables: [
        { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags: ['timeout'], timeout: 5, handle: 2, elem: [{ elem: { val: '198.18.0.3', expires: 4 } }, { elem: { val: '198.18.0.4', timeout: 10, expires: 9, comment: 'c' } }, '198.18.0.5'] } },
        { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', flags: ['timeout'], handle: 3, elem: [[{ elem: { val: '198.18.0.6', timeout: 3, expires: 2 } }, { accept: null }]] } },
      ],
    } as unknown as Ruleset;
    const out = listingToRuleset(listing).nftables as unknown as Array<Record<string, { elem: unknown[] }>>;
    assert.deepEqual(out[1]!.set!.elem, ['198.18.0.3', { elem: { val: '198.18.0.4', timeout: 10, comment: 'c' } }, '198.18.0.5']);
    assert.deepEqual(out[2]!.map!.elem, [[{ elem: { val: '198.18.0.6', timeout: 3 } }, { accept: null }]]);
  });
});
