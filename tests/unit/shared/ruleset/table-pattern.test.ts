import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globMatches, parseTablePatterns, tableMatches } from '../../../../shared/ruleset/table-pattern.js';

test("--adopt-tables: comma-separated 'FAMILY NAME' or 'NAME' globs, matched on the whole name", () => {
  const p = parseTablePatterns(' inet f2b-table, kube-* ,ip nat,');
  assert.deepEqual(p.map((x) => [x.family, x.name]), [['inet', 'f2b-table'], [undefined, 'kube-*'], ['ip', 'nat']]);
  const cases: [string, string, boolean][] = [
    ['inet', 'f2b-table', true],
    ['ip', 'f2b-table', false],
    ['ip6', 'kube-proxy', true],
    ['ip', 'kube', false],
    ['ip', 'nat', true],
    ['ip6', 'nat', false],
    ['inet', 'nft_sync', false],
  ];
  for (const [family, name, want] of cases) assert.equal(tableMatches(p, { family: family as 'ip', name }), want, `${family} ${name}`);
  assert.deepEqual(parseTablePatterns(undefined), []);
  assert.deepEqual(parseTablePatterns(''), []);
});

test('refuses an unknown family or a pattern of three words, with NFTSYNC_ERR_USAGE', () => {
  for (const bad of ['inte f2b', 'inet f2b table']) assert.throws(() => parseTablePatterns(bad), { code: 'NFTSYNC_ERR_USAGE' });
});

test('globs: * any run, ? one character, the rest literal; no exponential case', () => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['a*b', 'ab', true],
    ['a*b', 'axxb', true],
    ['a*b', 'axxc', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['[ab]', '[ab]', true],
    ['a.b', 'axb', false],
  ];
  for (const [g, n, want] of cases) assert.equal(globMatches(g, n), want, `${g} ~ ${n}`);
  assert.equal(globMatches('*a'.repeat(100) + 'b', 'a'.repeat(255)), false);
});
