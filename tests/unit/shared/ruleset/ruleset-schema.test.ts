import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kind } from '@sinclair/typebox';
import { managedTables, parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { ITEM_SCHEMAS, RULESET_SCHEMA, Ruleset, type ChainObject, type RulesetItem } from '../../../../shared/ruleset/ruleset-types.js';
import { ITEM_KINDS } from '../../../../shared/ruleset/ruleset-items.js';
import { NftSyncError, type ErrorCode } from '../../../../shared/errors.js';
import { expectCode } from '../../../helpers/expect-code.js';

const T = { table: { family: 'inet', name: 'f' } };
const C = { chain: { family: 'inet', table: 'f', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop' } };
const R = { rule: { family: 'inet', table: 'f', chain: 'input', expr: [{ accept: null }] } };
const doc = (...items: unknown[]): string => JSON.stringify({ nftables: items });

test('accepts nft listings and hand-written list-form files', () => {
  const good: [string, string][] = [
    ['default.json', readFileSync('repo-template/rulesets/default.json', 'utf8')],
    ['vmap listing', readFileSync('tests/fixtures/vmap-listed.json', 'utf8')],
    ['minimal', doc(T, C, R)],
    ['empty', doc()],
    ['metainfo first', doc({ metainfo: { version: '1.0.6' } }, T)],
    ['rule before its chain', doc(T, R, C)],
    ['element item', doc(T, { set: { family: 'inet', table: 'f', name: 's', type: 'ipv4_addr' } }, { element: { family: 'inet', table: 'f', name: 's', elem: ['10.0.0.1'] } })],
    ['named counter', doc(T, { counter: { family: 'inet', table: 'f', name: 'c', packets: 0, bytes: 0 } })],
    ['buffer input', doc(T)],
  ];
  for (const [name, text] of good) {
    const r = parseRuleset(name === 'buffer input' ? Buffer.from(text) : text);
    assert.ok(Array.isArray(r.nftables), name);
  }
});

test('refuses text that is not JSON, with a position when one is known', () => {
  const cases: [string, number | undefined][] = [
    ['{"nftables":[', 1],
    ['{\n "nftables": [\n  {"table": {"family": "inet",}}\n ]\n}', 3],
    ['', 1],
  ];
  for (const [text, line] of cases) {
    assert.throws(() => parseRuleset(text), (e: unknown) => {
      assert.ok(e instanceof NftSyncError);
      assert.equal(e.code, 'NFTSYNC_ERR_RULESET_JSON');
      assert.equal(e.data?.line, line, text);
      return true;
    });
  }
});

test('schema and reference errors name the offending object', () => {
  const cases: [string, string, string][] = [
    ['not an object', '[]', '/'],
    ['no nftables', '{}', '/'],
    ['command form', doc({ add: T }), '/nftables/0'],
    ['two keys', doc({ ...T, ...C }), '/nftables/0'],
    ['bad family', doc({ table: { family: 'ipx', name: 'f' } }), '/nftables/0/table'],
    ['slash in name', doc({ table: { family: 'inet', name: 'a/b' } }), '/nftables/0/table'],
    ['control char', doc({ table: { family: 'inet', name: 'a\nb' } }), '/nftables/0/table'],
    ['name too long', doc({ table: { family: 'inet', name: 'x'.repeat(256) } }), '/nftables/0/table'],
    ['name too many bytes', doc({ table: { family: 'inet', name: 'é'.repeat(200) } }), '/nftables/0/table'],
    ['typo in chain key', doc(T, { chain: { family: 'inet', table: 'f', name: 'c', polcy: 'drop' } }), '/nftables/1/chain'],
    ['bad policy', doc(T, { chain: { family: 'inet', table: 'f', name: 'c', policy: 'reject' } }), '/nftables/1/chain'],
    ['expr not array', doc(T, C, { rule: { family: 'inet', table: 'f', chain: 'input', expr: {} } }), '/nftables/2/rule'],
    ['rule without table', doc(C, R), '/nftables/0/chain'],
    ['dangling table', doc(T, { set: { family: 'ip', table: 'f', name: 's', type: 'ipv4_addr' } }), '/nftables/1/set'],
    ['dangling chain', doc(T, C, { rule: { ...R.rule, chain: 'nope' } }), '/nftables/2/rule'],
    ['dangling element set', doc(T, { element: { family: 'inet', table: 'f', name: 's', elem: [] } }), '/nftables/1/element'],
    ['duplicate chain', doc(T, C, C), '/nftables/2/chain'],
    ['duplicate table', doc(T, T), '/nftables/1/table'],
    ['set and map share names', doc(T, { set: { family: 'inet', table: 'f', name: 's', type: 'ipv4_addr' } }, { map: { family: 'inet', table: 'f', name: 's', type: 'ipv4_addr', map: 'verdict' } }), '/nftables/2/map'],
    ['map without data type', doc(T, { map: { family: 'inet', table: 'f', name: 'm', type: 'ipv4_addr' } }), '/nftables/1/map'],
    ['metainfo not first', doc(T, { metainfo: {} }), '/nftables/1/metainfo'],
  ];
  for (const [name, text, object] of cases) {
    assert.throws(() => parseRuleset(text), (e: unknown) => {
      assert.ok(e instanceof NftSyncError, name);
      assert.equal(e.code, 'NFTSYNC_ERR_RULESET_SCHEMA', name);
      assert.equal(e.data?.object, object, `${name}: ${e.message}`);
      assert.match(e.message, /^ruleset \//, name);
      return true;
    }, name);
  }
});

test('managedTables lists the declared tables in order', () => {
  const r = parseRuleset(doc(T, { table: { family: 'ip', name: 'nat' } }, C));
  assert.deepEqual(managedTables(r), [{ family: 'inet', name: 'f' }, { family: 'ip', name: 'nat' }]);
});

test('refuses a number that would not reach nft as written, naming its JSON pointer (and accepts one that would)', () => {
  const quota = (val: string) => doc(T, C).replace(/]}$/, `,{"rule":{"family":"inet","table":"f","chain":"input","expr":[{"quota":{"val":${val},"val_unit":"bytes"}}]}}]}`);
  assert.throws(
    () => parseRuleset(quota('9007199254740993')),
    (e: unknown) => {
      assert.ok(e instanceof NftSyncError);
      assert.equal(e.code, 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT');
      assert.equal(e.data?.pointer, '/nftables/2/rule/expr/0/quota/val');
      assert.equal(e.data?.object, '/nftables/2/rule');
      assert.match(e.message, /\/nftables\/2\/rule\/expr\/0\/quota\/val: the number 9007199254740993 would reach nft as 9007199254740992/);
      return true;
    },
  );
  const ok = parseRuleset(quota('1152921504606847000'));
  assert.equal(JSON.stringify(ok).includes('1152921504606847000'), true);
});

test('refuses hostile text before JSON.parse: deep nesting, millions of containers, endless key shapes; a huge string is only text', () => {
  const cases: [string, string, ErrorCode][] = [
    ['deep', `{"nftables":[{"metainfo":{"x":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}]}`, 'NFTSYNC_ERR_RULESET_TOO_COMPLEX'],
    ['deep and unterminated', `{"nftables":[${'['.repeat(5_000_000)}`, 'NFTSYNC_ERR_RULESET_TOO_COMPLEX'],
    ['containers', `{"nftables":[{"metainfo":{"x":[${'[],'.repeat(6_000_001)}[]]}}]}`, 'NFTSYNC_ERR_RULESET_TOO_COMPLEX'],
    ['shapes', `{"nftables":[{"metainfo":{"x":[${Array.from({ length: 10_000 }, (_, i) => `{"k${i}":1}`).join(',')}]}}]}`, 'NFTSYNC_ERR_RULESET_TOO_COMPLEX'],
    ['huge string', `{"nftables":[{"table":{"family":"inet","name":"${'x'.repeat(20_000_000)}"}}]}`, 'NFTSYNC_ERR_RULESET_SCHEMA'],
  ];
  for (const [name, text, code] of cases) {
    assert.ok(expectCode(() => parseRuleset(text), code), name);
  }
});

test('the ruleset schema is declared once, with TypeBox: the validator compiles it and the types derive from it', () => {
  assert.equal(RULESET_SCHEMA.properties, Ruleset.properties, 'RULESET_SCHEMA is the Ruleset schema with a title');
  assert.equal(Ruleset[Kind], 'Object');
  assert.deepEqual(Object.keys(ITEM_SCHEMAS).sort(), [...ITEM_KINDS].sort(), 'one schema per item kind');
  const chain: ChainObject = { family: 'inet', table: 'f', name: 'input', policy: 'drop' };
  // @ts-expect-error `dorp` is not in the schema's policy enum, so not in the derived type either.
  const typo: ChainObject = { family: 'inet', table: 'f', name: 'input', policy: 'dorp' };
  const item: RulesetItem = { chain };
  assert.equal(parseRuleset(doc(T, item)).nftables.length, 2);
  assert.throws(() => parseRuleset(doc(T, { chain: typo })), { code: 'NFTSYNC_ERR_RULESET_SCHEMA', message: /\/nftables\/1\/chain\/policy: must be equal to one of the allowed values: \["accept","drop"\]/ });
});

test('a key written twice in one object is refused at its pointer, before JSON.parse keeps the last one', () => {
  const text = '{"nftables":[{"table":{"family":"inet","name":"filter"}},{"chain":{"family":"inet","table":"filter","name":"input","type":"filter","hook":"input","prio":0,"policy":"drop","policy":"accept"}}]}';
  const err = expectCode(() => parseRuleset(text), 'NFTSYNC_ERR_RULESET_SCHEMA');
  assert.match(err.message, /\/nftables\/1\/chain\/policy: key "policy" is written twice/);
});

test('an element\'s timeout and expires must be whole seconds: nft ignores "3600" or "1h" and gives the set\'s default, so the revision would never read back as written (review)', () => {
  const ruleset = (elem: unknown[], kind: 'set' | 'map' = 'set') =>
    JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 't' } },
        { [kind]: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', ...(kind === 'map' && { map: 'mark' }), flags: ['timeout'], timeout: 3600, elem } },
      ],
    });
  for (const [elem, path] of [
    [[{ elem: { val: '198.18.0.1', timeout: '3600' } }], '/nftables/1/set/elem/0/elem/timeout'],
    [['198.18.0.2', { elem: { val: '198.18.0.1', timeout: '1h' } }], '/nftables/1/set/elem/1/elem/timeout'],
    [[{ elem: { val: '198.18.0.1', timeout: 1.5 } }], '/nftables/1/set/elem/0/elem/timeout'],
    [[{ elem: { val: '198.18.0.1', expires: -1 } }], '/nftables/1/set/elem/0/elem/expires'],
  ] as const) {
    assert.throws(() => parseRuleset(ruleset([...elem])), (e: unknown) => {
      assert.ok(e instanceof NftSyncError && e.code === 'NFTSYNC_ERR_RULESET_SCHEMA', String(e));
      assert.match(e.message, /whole number of seconds/);
      assert.equal(e.data?.pointer, path);
      return true;
    });
  }
  assert.throws(() => parseRuleset(ruleset([[{ elem: { val: '198.18.0.1', timeout: '60' } }, 7]], 'map')), { code: 'NFTSYNC_ERR_RULESET_SCHEMA' });
  // As nft lists them: whole seconds, accepted.
  parseRuleset(ruleset([{ elem: { val: '198.18.0.1', timeout: 3600, expires: 3599 } }, { elem: { val: '198.18.0.3', timeout: 0 } }]));
  parseRuleset(ruleset([[{ elem: { val: '198.18.0.1', timeout: 60 } }, 7]], 'map'));
});
