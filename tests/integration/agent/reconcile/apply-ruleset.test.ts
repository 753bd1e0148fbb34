/**
 * applyRuleset and the nft runner against the real nft 1.0.6, each test in its own throwaway
 * network namespace (tests/helpers/netns.ts): never the machine's own ruleset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyRuleset } from '../../../../agent/reconcile/apply-ruleset.js';
import { readBack } from '../../../../agent/reconcile/read-back.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { diffNormalised, normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset, type Ruleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { expectCode } from '../../../helpers/expect-code.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json');
const FOREIGN = 'table ip docker_like {\n  chain x {\n    type filter hook forward priority 0; policy accept;\n    counter accept\n  }\n}\n';

function setup(t: { after(fn: () => void): void }): { ns: Netns; nft: ReturnType<typeof createNftRunner> } {
  const ns = createNetns(t, 'apply');
  return { ns, nft: createNftRunner(ns.nftCommand) };
}

/** Rejects with an NftSyncError of `code`; returns it. */

/** A ruleset of table inet nft_sync holding `items`, parsed. */
const inNftSync = (...items: unknown[]): Ruleset => parseRuleset(JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'nft_sync' } }, ...items] }));

const withRule = (base: Buffer, expr: unknown[]): Ruleset => {
  const r = structuredClone(parseRuleset(base));
  r.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr } } as never);
  return parseRuleset(JSON.stringify(r));
};

test('default.json applies into an empty namespace and reads back with no differences', async (t) => {
  const { ns, nft } = setup(t);
  const res = await applyRuleset({ nft, ruleset: parseRuleset(DEFAULT), verify: 'full' });
  assert.deepEqual(res.managedTables, [{ family: 'inet', name: 'nft_sync' }]);
  assert.deepEqual(res.readback, { ok: true, mode: 'full', differences: [], durationMs: res.readback.durationMs });
  assert.match(ns.nft(['list', 'chain', 'inet', 'nft_sync', 'input']), /policy drop;[\s\S]*tcp dport 22 accept/);
});

test('re-applying is idempotent, with a dry run, and a foreign table survives every apply', async (t) => {
  const { ns, nft } = setup(t);
  ns.nft(['-f', '-'], FOREIGN);
  const foreign = ns.nft(['-a', 'list', 'table', 'ip', 'docker_like']);
  const ruleset = parseRuleset(DEFAULT);
  const first = await applyRuleset({ nft, ruleset, check: true });
  const listed1 = ns.nft(['list', 'ruleset']);
  const second = await applyRuleset({ nft, ruleset, previouslyManaged: first.managedTables, check: true });
  assert.equal(second.readback.ok, true);
  assert.equal(ns.nft(['list', 'ruleset']), listed1);
  assert.equal(ns.nft(['-a', 'list', 'table', 'ip', 'docker_like']), foreign, 'foreign table untouched, same handles');
  assert.deepEqual(await nft.listTables(), [{ family: 'ip', name: 'docker_like' }, { family: 'inet', name: 'nft_sync' }]);
});

test('an invalid ruleset is refused and the previous ruleset stays exactly in force', async (t) => {
  const { ns, nft } = setup(t);
  ns.nft(['-f', '-'], FOREIGN);
  const first = await applyRuleset({ nft, ruleset: parseRuleset(DEFAULT) });
  const before = ns.nft(['-a', 'list', 'ruleset']);
  const missingSet = withRule(DEFAULT, [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@nosuch' } }, { drop: null }]);
  const badExpr = withRule(DEFAULT, [{ bogus: 1 }]);
  for (const [name, ruleset] of [['missing set', missingSet], ['bad expression', badExpr]] as const) {
    const e = await expectCode(applyRuleset({ nft, ruleset, previouslyManaged: first.managedTables }), 'NFTSYNC_ERR_NFT_APPLY');
    assert.match(e.message, /Error/, name);
    assert.equal(typeof e.data?.stderr, 'string', name);
    await expectCode(applyRuleset({ nft, ruleset, check: true }), 'NFTSYNC_ERR_NFT_CHECK');
    assert.equal(ns.nft(['-a', 'list', 'ruleset']), before, `${name}: nothing changed`);
  }
});

test('a refusal names the object where nft\'s message allows: its index, or the one undeclared reference', async (t) => {
  const { nft } = setup(t);
  const rules = parseRuleset(DEFAULT).nftables.filter((i) => 'rule' in i && (i.rule as { chain: string }).chain === 'input').length;
  const last = parseRuleset(DEFAULT).nftables.length;
  const cases: Array<[string, Ruleset, string, RegExp]> = [
    ['bad expression', withRule(DEFAULT, [{ counter: null }, { bogus: 1 }]), `/nftables/${last}/rule/expr/1`, new RegExp(`\\(at statement 2 of rule ${rules + 1} of chain inet nft_sync input, /nftables/${last}/rule/expr/1\\)$`)],
    ['missing set', withRule(DEFAULT, [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@nosuch' } }, { drop: null }]), `/nftables/${last}`, /No such file or directory.*\(at rule \d+ of chain inet nft_sync input, \/nftables\/\d+\)$/],
  ];
  for (const [name, ruleset, pointer, message] of cases) {
    for (const check of [false, true]) {
      const e = await expectCode(applyRuleset({ nft, ruleset, check, previouslyManaged: [{ family: 'ip', name: 'old' }] }), check ? 'NFTSYNC_ERR_NFT_CHECK' : 'NFTSYNC_ERR_NFT_APPLY');
      assert.equal(e.data?.pointer, pointer, `${name}: ${e.message}`);
      assert.match(e.message, message, name);
    }
  }
});

test('a listing with a verdict map jumping to chains and interval sets with catch-all and prefixes applies', async (t) => {
  const src = createNetns(t, 'src');
  src.nft(['-f', '-'], `table inet t2 {
  set blk { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1, 172.16.0.0-172.16.0.10, * }; }
  map vm { type ipv4_addr : verdict; flags interval; elements = { 10.1.0.0/16 : jump c1, * : goto c2 }; }
  map vm2 { type inet_service : verdict; elements = { 22 : jump c1, 80 : accept }; }
  counter cnt1 { packets 5 bytes 10; }
  quota q1 { over 100 mbytes; }
  chain c1 { counter name "cnt1"; }
  chain c2 { return; }
  chain input { type filter hook input priority 0; policy accept; ip saddr @blk drop; ip daddr vmap @vm; tcp dport vmap @vm2; }
}
`);
  const exported = src.nft(['-j', 'list', 'ruleset']);
  const ruleset = parseRuleset(exported);
  const kinds = ruleset.nftables.map((i) => Object.keys(i)[0]);
  assert.ok(kinds.indexOf('map') < kinds.indexOf('chain'), 'nft lists maps before chains');
  const { ns, nft } = setup(t);
  const raw = await expectCode(nft.run(['-j', '-f', '-'], exported), 'NFTSYNC_ERR_NFT_EXEC');
  assert.match(raw.message, /No such file or directory/, 'the raw listing does not reload: chains come after the map');
  const res = await applyRuleset({ nft, ruleset, verify: 'full' });
  assert.equal(res.readback.ok, true);
  const again = parseRuleset(ns.nft(['-j', 'list', 'ruleset']));
  assert.deepEqual(diffNormalised(normaliseRuleset(ruleset), normaliseRuleset(again)), []);
});

test('a previously managed table dropped from the ruleset is deleted; others are kept', async (t) => {
  const { ns, nft } = setup(t);
  ns.nft(['-f', '-'], FOREIGN);
  const two = parseRuleset(DEFAULT);
  const withExtra = parseRuleset(JSON.stringify({ nftables: [...two.nftables, { table: { family: 'ip', name: 'extra' } }, { chain: { family: 'ip', table: 'extra', name: 'c' } }] }));
  const first = await applyRuleset({ nft, ruleset: withExtra });
  assert.deepEqual(first.managedTables.map((x) => x.name), ['nft_sync', 'extra']);
  const second = await applyRuleset({ nft, ruleset: two, previouslyManaged: first.managedTables });
  assert.deepEqual(second.managedTables, [{ family: 'inet', name: 'nft_sync' }]);
  assert.deepEqual((await nft.listTables()).map((x) => x.name).sort(), ['docker_like', 'nft_sync']);
  // previously managed but already gone (someone deleted it by hand): still fine
  await applyRuleset({ nft, ruleset: two, previouslyManaged: first.managedTables });
});

test('a ruleset nft loads differently: the result says READBACK_MISMATCH (data, not an exception: the transaction happened)', async (t) => {
  const { ns, nft } = setup(t);
  // nft prints ct state sets in its own order: the file's order does not survive.
  const ruleset = withRule(DEFAULT, [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['related', 'established'] } }, { accept: null }]);
  const res = await applyRuleset({ nft, ruleset });
  assert.equal(res.readback.ok, false);
  const e = res.readback.error!;
  assert.equal(e.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
  const diff = e.data?.differences as string[];
  assert.deepEqual(res.readback.differences, diff);
  assert.ok(diff.some((d) => d.startsWith('rule removed in inet nft_sync input')), JSON.stringify(diff));
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /ct state established,related accept$/m, 'the transaction happened');
  // The table is the agent's now: later applies replace it.
  const owned = e.data?.managedTables as { family: 'inet'; name: string }[];
  const off = await applyRuleset({ nft, ruleset, verify: 'off', previouslyManaged: owned });
  assert.deepEqual(off.readback, { ok: true, mode: 'off', differences: [], durationMs: off.readback.durationMs });
  const structure = await applyRuleset({ nft, ruleset: parseRuleset(DEFAULT), verify: 'structure', previouslyManaged: owned });
  assert.equal(structure.readback.mode, 'structure');
});

test('an element with a timeout that expires before the read-back lists it is not a difference', async (t) => {
  const { ns, nft } = setup(t);
  const ruleset = inNftSync(
    { set: { family: 'inet', table: 'nft_sync', name: 'tmo', type: 'ipv4_addr', flags: ['timeout'], elem: [{ elem: { val: '198.18.0.1', timeout: 1 } }, '198.18.0.2'] } },
  );
  await applyRuleset({ nft, ruleset, verify: 'off' });
  // The kernel removes it after a second, with no event: a read-back that lists later finds it gone.
  for (const until = performance.now() + 10_000; ns.nft(['list', 'set', 'inet', 'nft_sync', 'tmo']).includes('198.18.0.1'); ) {
    assert.ok(performance.now() < until, 'the element did not expire within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await readBack(nft, ruleset, 'full');
  assert.deepEqual({ ok: r.ok, differences: r.differences }, { ok: true, differences: [] });
  // An element without a timeout deleted by hand is still one.
  ns.nft(['delete', 'element', 'inet', 'nft_sync', 'tmo', '{ 198.18.0.2 }']);
  const gone = await readBack(nft, ruleset, 'full');
  assert.equal(gone.error?.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
  assert.match(gone.differences.join('\n'), /198\.18\.0\.2/);
});

test('after a full load, an element with a timeout longer than the time since is not taken for expired: its absence is a difference (review)', async (t) => {
  const { ns, nft } = setup(t);
  const ruleset = inNftSync(
    { set: { family: 'inet', table: 'nft_sync', name: 'tmo', type: 'ipv4_addr', flags: ['timeout'], elem: [{ elem: { val: '198.18.0.1', timeout: 3600 } }, '198.18.0.2'] } },
    { set: { family: 'inet', table: 'nft_sync', name: 'dflt', type: 'ipv4_addr', flags: ['timeout'], timeout: 86400, elem: ['198.18.1.1', '198.18.1.2'] } },
  );
  const loadedAt = performance.now();
  await applyRuleset({ nft, ruleset, verify: 'off' });
  ns.nft(['delete', 'element', 'inet', 'nft_sync', 'tmo', '{ 198.18.0.1 }']);
  ns.nft(['delete', 'element', 'inet', 'nft_sync', 'dflt', '{ 198.18.1.1 }']);
  const r = await readBack(nft, ruleset, 'full', { loadedAt });
  assert.equal(r.error?.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
  assert.match(r.differences.join('\n'), /198\.18\.0\.1/);
  assert.match(r.differences.join('\n'), /198\.18\.1\.1/);
  // Without the load's time (a delta leaves elements loaded earlier), they may have expired: no difference.
  assert.equal((await readBack(nft, ruleset, 'full')).ok, true);
});

test('an element whose own timeout is its set\'s default (nft lists it without one) reads back equal (review)', async (t) => {
  const { nft } = setup(t);
  const ruleset = inNftSync(
    { set: { family: 'inet', table: 'nft_sync', name: 'dflt', type: 'ipv4_addr', flags: ['timeout'], timeout: 3600, elem: [{ elem: { val: '198.18.0.1', timeout: 3600 } }, { elem: { val: '198.18.0.2', timeout: 60 } }, '198.18.0.3'] } },
    { map: { family: 'inet', table: 'nft_sync', name: 'm', type: 'ipv4_addr', map: 'mark', flags: ['timeout'], timeout: 600, elem: [[{ elem: { val: '198.18.2.1', timeout: 600 } }, 7]] } },
  );
  const res = await applyRuleset({ nft, ruleset, verify: 'full' });
  assert.deepEqual({ ok: res.readback.ok, differences: res.readback.differences }, { ok: true, differences: [] });
});

test('the runner reports spawn failures, nft errors and tables nft cannot list', async (t) => {
  await expectCode(createNftRunner('/nonexistent/nft-binary').run(['--version']), 'NFTSYNC_ERR_NFT_EXEC');
  assert.throws(() => createNftRunner('  '), /empty/);
  const { nft } = setup(t);
  const { stdout } = await nft.run(['--version']);
  assert.match(stdout, /nftables v1\.0\.6/);
  const e = await expectCode(nft.run(['list', 'table', 'ip', 'nope']), 'NFTSYNC_ERR_NFT_EXEC');
  assert.match(e.message, /No such file or directory/);
  await expectCode(nft.listTable('ip', 'nope'), 'NFTSYNC_ERR_NFT_LIST');
  await nft.applyJson({ nftables: [{ add: { table: { family: 'inet', name: 'counter' } } }] });
  const listed = await nft.listTable('inet', 'counter', { terse: true });
  assert.equal((listed.nftables[1] as { table: { name: string } }).table.name, 'counter', 'keyword names work');
});
