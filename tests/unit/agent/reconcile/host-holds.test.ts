/** hostHoldsAlready: a revision reading the same as the published listing is held; anything else is not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostHoldsAlready, type HostHolds } from '../../../../agent/reconcile/host-holds.js';
import { normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';

const T: TableRef = { family: 'inet', name: 'nft_sync' };
const B = 'b'.repeat(40);
const rule = (port: number) => ({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, { accept: null }] } });
const ruleset = (...ports: number[]): Ruleset =>
  ({ nftables: [{ table: { family: 'inet', name: 'nft_sync' } }, { chain: { family: 'inet', table: 'nft_sync', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } }, ...ports.map(rule)] }) as Ruleset;
const held = (r: Ruleset, tables: TableRef[] = [T]): HostHolds => ({ canon: JSON.stringify(normaliseRuleset(r, tables)), tables, base: B, commit: 'c'.repeat(40) });
const host = { inForceCommit: B, pendingLeftover: false };

test('the published state comes back (comments, handles and item order aside): held', () => {
  const listing = ruleset(22, 8080);
  const file = { nftables: [{ metainfo: { json_schema_version: 1 } }, ...[...listing.nftables].reverse().reverse()] } as Ruleset;
  (file.nftables[1] as { table: Record<string, unknown> }).table = { family: 'inet', name: 'nft_sync', comment: 'kept in the file' };
  assert.equal(hostHoldsAlready(held(listing), file, host), true);
});

test('others\' changes, another base, a pending leftover, a table not listed: not held', () => {
  const h = held(ruleset(22, 8080));
  assert.equal(hostHoldsAlready(h, ruleset(22, 8080, 9090), host), false, 'rebased onto others\' change');
  assert.equal(hostHoldsAlready(h, ruleset(22, 8080), { ...host, inForceCommit: 'd'.repeat(40) }), false, 'the revision in force moved since the listing');
  assert.equal(hostHoldsAlready(h, ruleset(22, 8080), { ...host, pendingLeftover: true }), false);
  assert.equal(hostHoldsAlready(undefined, ruleset(22, 8080), host), false);
  const extra = { nftables: [...ruleset(22, 8080).nftables, { table: { family: 'ip', name: 'other' } }] } as Ruleset;
  assert.equal(hostHoldsAlready(h, extra, host), false, 'a table the listing did not cover');
});

test('a managed table deleted by hand and published: the revision without it is held', () => {
  const both: TableRef[] = [T, { family: 'ip', name: 'gone' }];
  assert.equal(hostHoldsAlready(held(ruleset(22), both), ruleset(22), host), true);
});
