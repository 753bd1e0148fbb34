import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanJsonText, type JsonTextLimits } from '../../../../shared/ruleset/scan-json-text.js';

const L: JsonTextLimits = { maxDepth: 8, maxContainers: 100, maxShapes: 20 };

test('names the JSON pointer of an inexact number, of too deep a nesting and of the shape or container over the limit', () => {
  const cases: [string, JsonTextLimits, { kind: string; pointer: string } | undefined][] = [
    ['{"nftables":[{"rule":{"expr":[{"quota":{"val":9007199254740993}}]}}]}', L, { kind: 'number', pointer: '/nftables/0/rule/expr/0/quota/val' }],
    ['[1,2,[3,18446744073709551615]]', L, { kind: 'number', pointer: '/2/1' }],
    ['{"a/b":{"m~n":1e400}}', L, { kind: 'number', pointer: '/a~1b/m~0n' }],
    ['{"k\\"ey":[9007199254740993]}', L, { kind: 'number', pointer: '/k"ey/0' }],
    ['{"s":"9007199254740993 in a string is text"}', L, undefined],
    ['[[[[[[[[1]]]]]]]]', L, undefined],
    ['[[[[[[[[[1]]]]]]]]]', L, { kind: 'depth', pointer: '/0/0/0/0/0/0/0/0' }],
    ['{"x":[{"y":[[[[[[[]]]]]]]}]}', L, { kind: 'depth', pointer: '/x/0/y/0/0/0/0/0' }],
    [`[${'[],'.repeat(99)}[]]`, L, { kind: 'containers', pointer: '/99' }],
    [`[${Array.from({ length: 30 }, (_, i) => `{"k${i}":1}`).join(',')}]`, L, { kind: 'shapes', pointer: '/19/k19' }],
    [`[${Array.from({ length: 30 }, () => '{"a":1,"b":2}').join(',')}]`, L, undefined],
    ['{"nftables": [ {"table": {"family": "inet", "name": "t", "handle": 9007199254740991}} ]}', L, undefined],
  ];
  for (const [text, limits, want] of cases) {
    const got = scanJsonText(text, limits);
    assert.deepEqual(got && { kind: got.kind, pointer: got.pointer }, want, text.slice(0, 80));
  }
});

test('reports nothing on text that is not JSON (JSON.parse names the error) and never throws', () => {
  for (const text of ['', '{', '"unterminated', ']]]', '{"a":}', 'nul\u0000l', '[1,2', '\\"']) assert.equal(scanJsonText(text, L), undefined, text);
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      scanJsonText(s, L);
    }),
    { numRuns: 5000 },
  );
});

test('agrees with a recursive walk of JSON.parse on generated documents: depth, containers and the first inexact number', () => {
  const big = fc.oneof(fc.constant('9007199254740993'), fc.constant('1.5'), fc.constant('7'));
  const doc: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      big,
      fc.string({ maxLength: 4 }).map((s) => JSON.stringify(s)),
      fc.array(tie('v'), { maxLength: 4 }).map((a) => `[${a.join(',')}]`),
      fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c/d'), tie('v')), { maxLength: 3, selector: ([k]) => k }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    ),
  })).v;
  const limits = { maxDepth: 1000, maxContainers: 1e9, maxShapes: 1e9 };
  fc.assert(
    fc.property(doc, (text) => {
      const value: unknown = JSON.parse(text);
      const found = scanJsonText(text, limits);
      // The first inexact number in document order, found by walking the parsed value.
      const first = (v: unknown, at: string): string | undefined => {
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const r = first(v[i], `${at}/${i}`);
            if (r !== undefined) return r;
          }
        } else if (v !== null && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            const r = first(x, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
            if (r !== undefined) return r;
          }
        } else if (v === 9007199254740992) return at;
        return undefined;
      };
      assert.equal(found?.pointer, first(value, ''), text);
    }),
    { numRuns: 3000, seed: 11 },
  );
});

test('names a key written twice in one object (JSON.parse keeps the last, a reader of the file or its diff may see the first), escapes decoded', () => {
  const cases: [string, { kind: string; pointer: string } | undefined][] = [
    ['{"nftables":[{"set":{"name":"blocklist","type":"ipv4_addr","name":"other"}}]}', { kind: 'duplicate', pointer: '/nftables/0/set/name' }],
    ['{"a":{"policy":"drop","x":1,"policy":"accept"}}', { kind: 'duplicate', pointer: '/a/policy' }],
    ['{"name":1,"n\\u0061me":2}', { kind: 'duplicate', pointer: '/name' }],
    ['[{"a":1,"b":2},{"b":1,"a":2},{"a":{"a":{"a":1}}}]', undefined],
    [`[${Array.from({ length: 15 }, () => '{"a":1,"b":2,"c":3}').join(',')}]`, undefined],
  ];
  for (const [text, want] of cases) {
    const got = scanJsonText(text, L);
    assert.deepEqual(got && { kind: got.kind, pointer: got.pointer }, want, text);
  }
});
