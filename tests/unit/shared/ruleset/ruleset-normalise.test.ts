import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { diffNormalised, normaliseRuleset, setTimeouts } from '../../../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset, type Ruleset } from '../../../../shared/ruleset/ruleset-schema.js';

const vmap = parseRuleset(readFileSync('tests/fixtures/vmap-listed.json'));
const clone = (r: Ruleset): { nftables: Record<string, Record<string, unknown>>[] } => structuredClone(r) as never;

test('handles, metainfo, item order, element order and kernel counters do not matter', () => {
  const b = clone(vmap);
  b.nftables.shift(); // metainfo
  b.nftables.reverse();
  for (const item of b.nftables) {
    const body = Object.values(item)[0]!;
    if ('handle' in body) body.handle = 999;
    if (Array.isArray(body.elem)) body.elem.reverse();
    if ('packets' in body) body.packets = 123456;
    if ('used' in body) body.used = 42;
  }
  // rules keep their order only within a chain: undo the reverse for them
  const rules = b.nftables.filter((i) => 'rule' in i).reverse();
  b.nftables = [...b.nftables.filter((i) => !('rule' in i)), ...rules];
  assert.deepEqual(diffNormalised(normaliseRuleset(vmap), normaliseRuleset(b as Ruleset)), []);
  assert.equal(JSON.stringify(normaliseRuleset(vmap)), JSON.stringify(normaliseRuleset(b as Ruleset)), 'byte-identical canonical form');
});

test('differences are reported object by object', () => {
  type Edit = (r: ReturnType<typeof clone>) => void;
  const find = (r: ReturnType<typeof clone>, kind: string, name: string) => r.nftables.find((i) => i[kind]?.name === name)![kind]!;
  const cases: [string, Edit, RegExp[]][] = [
    ['policy', (r) => { find(r, 'chain', 'input').policy = 'drop'; }, [/^chain inet t2 input: policy "accept" -> "drop"$/]],
    ['rule removed', (r) => { r.nftables.splice(r.nftables.findIndex((i) => i.rule?.chain === 'c2'), 1); }, [/^rule removed in inet t2 c2: .*return/]],
    ['rule added', (r) => { r.nftables.push({ rule: { family: 'inet', table: 't2', chain: 'c1', expr: [{ drop: null }] } }); }, [/^rule added in inet t2 c1: .*drop/]],
    ['rules reordered', (r) => {
      const i = r.nftables.findIndex((x) => x.rule?.chain === 'input');
      [r.nftables[i], r.nftables[i + 1]] = [r.nftables[i + 1]!, r.nftables[i]!];
    }, [/^rules reordered in inet t2 input$/]],
    ['element removed', (r) => { (find(r, 'set', 'blk').elem as unknown[]).pop(); }, [/^set inet t2 blk: 1 element\(s\) removed \("192\.168\.1\.1"\)$/]],
    ['set removed', (r) => { r.nftables.splice(r.nftables.findIndex((i) => i.map?.name === 'vm2'), 1); }, [/^map inet t2 vm2: removed$/, /^set inet t2 vm2: 2 element/]],
    ['table added', (r) => { r.nftables.push({ table: { family: 'ip', name: 'x' } }); }, [/^table ip x: added$/]],
  ];
  for (const [name, edit, expected] of cases) {
    const b = clone(vmap);
    edit(b);
    const diff = diffNormalised(normaliseRuleset(vmap), normaliseRuleset(b as Ruleset));
    assert.equal(diff.length, expected.length, `${name}: ${JSON.stringify(diff)}`);
    expected.forEach((re, i) => assert.match(diff[i]!, re, name));
  }
});

test('tables filter and terse mode', () => {
  const withForeign = clone(vmap);
  withForeign.nftables.push({ table: { family: 'ip', name: 'docker' } }, { chain: { family: 'ip', table: 'docker', name: 'x' } });
  const n = normaliseRuleset(withForeign as Ruleset, [{ family: 'inet', name: 't2' }]);
  assert.deepEqual(diffNormalised(normaliseRuleset(vmap), n), []);
  const terse = clone(vmap);
  for (const i of terse.nftables) delete Object.values(i)[0]!.elem;
  assert.deepEqual(diffNormalised(normaliseRuleset(vmap, undefined, { elements: false }), normaliseRuleset(terse as Ruleset)), []);
  assert.notDeepEqual(diffNormalised(normaliseRuleset(vmap), normaliseRuleset(terse as Ruleset)), []);
});

test('settings nft 1.0.6 loses on reload are not reported', () => {
  const b = clone(vmap);
  b.nftables.find((i) => i.table)!.table!.comment = 'lost';
  b.nftables.find((i) => i.set)!.set!.flags = ['interval', 'dynamic'];
  assert.deepEqual(diffNormalised(normaliseRuleset(vmap), normaliseRuleset(b as Ruleset)), []);
});

test('an element listed with only its value and the time it has left (a set with a default timeout) equals the bare value the file writes', () => {
  const set = (elem: unknown[]) => ({ nftables: [{ set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags: ['timeout'], timeout: 5, elem } }] }) as unknown as Ruleset;
  const file = set(['198.18.0.3', { elem: { val: '198.18.0.4', timeout: 10 } }, [{ elem: { val: '198.18.0.5' } }, { accept: null }]]);
  const listed = set([{ elem: { val: '198.18.0.3', expires: 4 } }, { elem: { val: '198.18.0.4', timeout: 10, expires: 9 } }, [{ elem: { val: '198.18.0.5', expires: 1 } }, { accept: null }]]);
  assert.deepEqual(diffNormalised(normaliseRuleset(file), normaliseRuleset(listed)), []);
  const other = set([{ elem: { val: '198.18.0.3', timeout: 7, expires: 4 } }, { elem: { val: '198.18.0.4', expires: 9 } }, [{ elem: { val: '198.18.0.5' } }, { accept: null }]]);
  assert.equal(diffNormalised(normaliseRuleset(file), normaliseRuleset(other)).length > 0, true, 'another timeout is still a difference');
});

test('setTimeouts: the default timeout of each set and map that has one, by family, table and name', () => {
  const r = { nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', timeout: 60 } }, { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'mark' } }] } as unknown as Ruleset;
  assert.deepEqual([...setTimeouts(r)], [['inet t s', 60]]);
});
