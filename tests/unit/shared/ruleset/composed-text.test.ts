import assert from 'node:assert/strict';
import { joinPieces } from '../../../../shared/bytes/join-pieces.js';
import { rng } from '../../../helpers/seeded-rng.js';
import { describe, it } from 'node:test';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { composeRuleset, composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { applyElementChange, type ElementChangeRequest, type ElementChangeResult, type SetAddress } from '../../../../shared/ruleset/element-change.js';
import { parseChangeFile, renderChangeFile, type ElementChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { isShared, SpareBuffer } from '../../../../shared/bytes/spare-buffer.js';


const T = 'f';
const at = (name: string): SetAddress => ({ family: 'inet', table: T, name });
const ip = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;

/** Memory as a SpareBuffer hands it out (over a SharedArrayBuffer) but holding garbage, as a reused block might. */
function dirty(size: number): Buffer {
  const b = new SpareBuffer().take(size);
  b.fill(0x7e);
  return b;
}

/** A base declaring followed sets of several shapes, and two that are not followed. */
function base(r: () => number, size: number, handWritten: boolean): string {
  const pick = (n: number) => Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.7);
  const ruleset = {
    nftables: [
      { table: { family: 'inet', name: T } },
      { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: pick(size).map(ip) } },
      { set: { family: 'inet', table: T, name: 'temp', type: 'ipv4_addr', flags: ['timeout'], elem: pick(size).map((i) => (r() < 0.5 ? ip(i) : { elem: { val: ip(i), timeout: 60 + (i % 3) } })) } },
      { map: { family: 'inet', table: T, name: 'verdicts', type: 'ipv4_addr', map: 'verdict', elem: pick(size).map((i) => [ip(i), r() < 0.5 ? { accept: null } : { drop: null }]) } },
      { set: { family: 'inet', table: T, name: 'pairs', type: ['ipv4_addr', 'inet_service'], elem: pick(size).map((i) => ({ concat: [ip(i), 1000 + i] })) } },
      { set: { family: 'inet', table: T, name: 'nets', type: 'ipv4_addr', flags: ['interval'], elem: [{ prefix: { addr: '198.19.4.0', len: 24 } }] } },
      { set: { family: 'inet', table: T, name: 'empty', type: 'ipv4_addr' } },
      { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { rule: { family: 'inet', table: T, chain: 'in', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@block' } }, { drop: null }] } },
    ].filter((item) => !('set' in item && Array.isArray((item.set as { elem?: unknown[] }).elem) && (item.set as { elem: unknown[] }).elem.length === 0 && (item.set as { name: string }).name !== 'empty')),
  };
  return handWritten ? JSON.stringify(ruleset) : renderRuleset(ruleset);
}

/** A random request to one followed set: present and absent elements, other timeouts and values, duplicates. */
function request(r: () => number, name: string, size: number): ElementChangeRequest {
  const n = 1 + Math.floor(r() * 6);
  const ids = Array.from({ length: n * 2 }, () => Math.floor(r() * size * 1.5));
  const value = (i: number): unknown => {
    switch (name) {
      case 'temp':
        return r() < 0.4 ? ip(i) : { elem: { val: ip(i), timeout: 60 + Math.floor(r() * 3) } };
      case 'verdicts':
        return [ip(i), r() < 0.5 ? 'accept' : { drop: null }];
      case 'pairs':
        return { concat: [ip(i), 1000 + i] };
      default:
        return r() < 0.8 ? ip(i) : { elem: { val: ip(i) } };
    }
  };
  const add = ids.slice(0, n).map(value);
  const del = ids.slice(n).filter((i) => !ids.slice(0, n).includes(i)).map((i) => (name === 'verdicts' && r() < 0.5 ? [ip(i), 'accept'] : ip(i)));
  return { add, delete: del };
}

describe('ComposedText', () => {
  it('follows 400 random change sequences byte for byte as composeRulesetText, deciding added and deleted as applyElementChange', () => {
    let changes = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const size = 3 + Math.floor(r() * 40);
      const baseText = base(r, size, seed % 5 === 0);
      const files: ElementChangeFile[] = [];
      const texts: string[] = [];
      let composed = ComposedText.build(baseText, []);
      assert.ok(composed, `seed ${seed}: the base is followed`);
      for (let step = 0; step < 12; step++) {
        const name = ['block', 'temp', 'verdicts', 'pairs'][Math.floor(r() * 4)]!;
        const req = request(r, name, size);
        const whole = composeRuleset({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t })));
        let expected;
        try {
          expected = applyElementChange(whole, at(name), req);
        } catch (err) {
          // No such set: not followed, and the server's whole composition says so.
          if ((err as NftSyncError).code === 'NFTSYNC_ERR_SET_NOT_FOUND') {
            assert.equal(composed!.plan(at(name), req), undefined);
            continue;
          }
          assert.throws(() => composed!.plan(at(name), req), (e: unknown) => e instanceof NftSyncError && e.code === (err as NftSyncError).code, `seed ${seed} step ${step}: ${(err as Error).message}`);
          continue;
        }
        const planned: ElementChangeResult | undefined = composed!.plan(at(name), req);
        if (planned === undefined) {
          // A set whose `elem` is empty or absent is not followed: the server composes whole.
          assert.equal(composed!.follows(at(name)), false);
          assert.ok(!/"elem": \[\n/.test(String(composeRulesetText({ path: 'b', bytes: baseText }, [])).split(`"name": "${name}"`)[1]?.split('}')[0] ?? ''));
          continue;
        }
        assert.deepEqual(planned, expected, `seed ${seed} step ${step}: the plan`);
        if (planned!.added.length === 0 && planned!.deleted.length === 0) continue;
        const text = renderChangeFile(at(name), planned!.added, planned!.deleted);
        texts.push(text);
        files.push(parseChangeFile(text));
        // Half the steps take the plan's own words (as the element API does), half the change
        // file: both must give what composing the stored files whole gives.
        if (step % 2 === 0) assert.equal(composed!.applyPlanned(planned!), true);
        else assert.equal(composed!.apply(files.at(-1)!), true);
        const want = composeRulesetText({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t })));
        // Every other step into memory that is not fresh (a spare block, shared, and dirty): the
        // same bytes, every one of them written.
        const got: Buffer | undefined = step % 2 === 0 ? composed!.text() : composed!.text((size) => dirty(size));
        if (got === undefined) {
          // A followed set was emptied (its `elem` key goes): composing whole is the answer then.
          composed = ComposedText.build(baseText, files);
          if (composed === undefined) break;
          continue;
        }
        assert.equal(got.toString(), String(want), `seed ${seed} step ${step}: the text`);
        changes++;
        // Built afresh from the same files, it says the same.
        if (step % 4 === 3) assert.equal(ComposedText.build(baseText, files)?.text()?.toString(), String(want), `seed ${seed} step ${step}: rebuilt`);
      }
    }
    assert.ok(changes > 2000, `${changes} changes compared`);
  });

  it('applyPlanned takes only the last plan\'s result, while nothing changed since: another result, or one planned before an apply, changes nothing', () => {
    const composed = ComposedText.build(renderRuleset({ nftables: [{ table: { family: 'inet', name: T } }, { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: [ip(1), ip(2)] } }] }), [])!;
    const before = composed.text()!.toString();
    const first = composed.plan(at('block'), { add: [ip(3)] })!;
    assert.equal(composed.applyPlanned({ ...first }), false, 'a copy is not the plan');
    const second = composed.plan(at('block'), { add: [ip(4)] })!;
    assert.equal(composed.applyPlanned(first), false, 'an earlier plan');
    assert.equal(composed.text()!.toString(), before, 'nothing changed');
    assert.equal(composed.apply(parseChangeFile(renderChangeFile(at('block'), [ip(5)], []))), true);
    assert.equal(composed.applyPlanned(second), false, 'planned before the text changed');
    const third = composed.plan(at('block'), { add: [ip(6)], delete: [ip(1)] })!;
    assert.equal(composed.applyPlanned(third), true);
    assert.equal(composed.applyPlanned(third), false, 'taken once');
    assert.deepEqual(JSON.parse(composed.text()!.toString()).nftables[1].set.elem, [ip(2), ip(5), ip(6)]);
  });

  it('follows neither interval sets nor sets without elements; build refuses a change file to a set it does not follow', () => {
    const r = rng(7);
    const text = base(r, 10, false);
    const composed = ComposedText.build(text, [])!;
    assert.equal(composed.follows(at('block')), true);
    assert.equal(composed.follows(at('nets')), false);
    assert.equal(composed.follows(at('empty')), false);
    assert.equal(composed.plan(at('nets'), { add: ['198.19.9.0/24'] }), undefined);
    assert.equal(ComposedText.build(text, [parseChangeFile(renderChangeFile(at('empty'), ['198.18.0.1'], []))]), undefined);
    assert.equal(ComposedText.build('{"nftables": 3}', []), undefined);
  });

  it('deleting the last element of a set takes the comma off the new last line', () => {
    const text = renderRuleset({ nftables: [{ table: { family: 'inet', name: T } }, { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2', '198.18.0.3'] } }] });
    const composed = ComposedText.build(text, [])!;
    const file = renderChangeFile(at('block'), [], ['198.18.0.3']);
    composed.apply(parseChangeFile(file));
    assert.equal(composed.text()!.toString(), String(composeRulesetText({ path: 'b', bytes: text }, [{ path: 'c', bytes: file }])));
    assert.match(composed.text()!.toString(), /"198\.18\.0\.2"\n {8}\]/);
    // Added after the base's: the base's last line takes a comma.
    const added = renderChangeFile(at('block'), ['198.18.0.9'], []);
    assert.ok(composed.apply(parseChangeFile(added)));
    assert.equal(composed.text()!.toString(), String(composeRulesetText({ path: 'b', bytes: text }, [file, added].map((bytes, i) => ({ path: `c${i}`, bytes })))));
    assert.match(composed.text()!.toString(), /"198\.18\.0\.2",\n {10}"198\.18\.0\.9"\n {8}\]/);
  });

  it('text(alloc) writes the text into the memory alloc gives (a prepared spare block, shared with workers), byte for byte the text(); a second call returns the same Buffer; an alloc of another size is refused', () => {
    const r = rng(11);
    const text = base(r, 200, false);
    const files = [renderChangeFile(at('block'), [ip(900), ip(901)], [ip(3)]), renderChangeFile(at('verdicts'), [[ip(902), { drop: null }]], [])];
    const whole = String(composeRulesetText({ path: 'b', bytes: text }, files.map((bytes, i) => ({ path: `c${i}`, bytes }))));
    const spare = new SpareBuffer();
    spare.prepare(whole.length);
    const block = spare.capacity;
    const composed = ComposedText.build(text, files.map((f) => parseChangeFile(f)))!;
    const sizes: number[] = [];
    const got = composed.text((size) => (sizes.push(size), spare.take(size)))!;
    assert.deepEqual(sizes, [Buffer.byteLength(whole)]);
    assert.equal(spare.capacity, 0, 'the prepared block was used');
    assert.ok(block >= got.length && isShared(got));
    assert.equal(got.toString(), whole);
    assert.equal(composed.text(() => assert.fail('memoised: nothing allocated')), got);
    const other = ComposedText.build(text, files.map((f) => parseChangeFile(f)))!;
    assert.throws(() => other.text((size) => Buffer.alloc(size + 1)), RangeError);
    assert.equal(other.text()!.toString(), whole, 'a refused alloc leaves nothing half written behind');
  });

  it('joined(pieces, bytes) takes a text joined elsewhere from the pieces() of now as the text (text() returns it, the next change\'s sharedHead counts it); not once the text changed, nor when joined already, nor of another size', () => {
    const r = rng(12);
    const composed = ComposedText.build(base(r, 200, false), [])!;
    const change = (n: number): void => assert.ok(composed.applyPlanned(composed.plan(at('block'), { add: [ip(n)] })!));
    change(950);
    composed.text();
    change(951);
    const pieces = composed.pieces()!;
    const elsewhere = joinPieces(pieces);
    assert.equal(composed.joined(pieces, Buffer.alloc(elsewhere.length + 1)), false, 'another size');
    assert.equal(composed.joined([...pieces], elsewhere), false, 'not the pieces of now');
    assert.equal(composed.joined(pieces, elsewhere), true);
    assert.equal(composed.text(() => assert.fail('taken: nothing joined here')), elsewhere);
    assert.equal(composed.joined(pieces, joinPieces(pieces)), false, 'joined already');
    change(952);
    composed.pieces();
    assert.ok(composed.sharedHead(elsewhere) > 0, 'the head shared with the text taken, as with a text joined here');
    assert.equal(composed.sharedHead(Buffer.from(elsewhere)), 0, 'a copy of it is not the text taken');
    assert.equal(composed.joined(pieces, elsewhere), false, 'the text changed since those pieces');
  });

  it('the lines of the elements the net change adds are one piece in shared memory, however many (the blob-id worker reads them in place; it copies at most 1 MiB of other pieces)', () => {
    const composed = ComposedText.build(base(rng(13), 200, false), [])!;
    const add = Array.from({ length: 60_000 }, (_, i) => ip(100_000 + i));
    assert.ok(composed.applyPlanned(composed.plan(at('block'), { add })!));
    const pieces = composed.pieces()!;
    const added = pieces.find((p) => p.length > 1 << 20);
    assert.ok(added !== undefined && isShared(added), 'over 1 MiB of new lines, in shared memory');
    assert.deepEqual(joinPieces(pieces), composed.text());
  });

  it('the added region is rendered once per change: an earlier change\'s lines stay the same chunk; changes taken without a text in between, a net-added element deleted or re-added with a timeout, all give what composing whole gives', () => {
    const baseText = base(rng(14), 30, false);
    const composed = ComposedText.build(baseText, [])!;
    const texts: string[] = [];
    const change = (name: string, req: ElementChangeRequest): void => {
      const planned = composed.plan(at(name), req)!;
      texts.push(renderChangeFile(at(name), planned.added, planned.deleted));
      assert.ok(composed.applyPlanned(planned));
    };
    const whole = (): string => String(composeRulesetText({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t }))));
    change('block', { add: [ip(500), ip(501)] });
    assert.equal(composed.text()!.toString(), whole());
    const first = composed.pieces()!.find((p) => p.toString().includes(ip(500)))!;
    change('block', { add: [ip(502)] });
    const second = composed.pieces()!;
    assert.ok(second.includes(first), 'the first change\'s lines: the same chunk, not rendered again');
    assert.equal(composed.text()!.toString(), whole());
    // Two changes, no text in between; then one of the added elements deleted, another re-added with a timeout.
    change('block', { add: [ip(503)] });
    change('temp', { add: [ip(600)] });
    assert.equal(composed.text()!.toString(), whole());
    change('block', { delete: [ip(501)] });
    assert.equal(composed.text()!.toString(), whole());
    change('temp', { add: [ip(601)] });
    change('temp', { add: [{ elem: { val: ip(600), timeout: 30 } }] });
    assert.equal(composed.text()!.toString(), whole());
    change('block', { add: [ip(501)] });
    assert.equal(composed.text()!.toString(), whole());
  });

  it('a set left with no element is not followed: text() is undefined', () => {
    const text = renderRuleset({ nftables: [{ table: { family: 'inet', name: T } }, { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1'] } }] });
    const composed = ComposedText.build(text, [])!;
    composed.apply(parseChangeFile(renderChangeFile(at('block'), [], ['198.18.0.1'])));
    assert.equal(composed.text(), undefined);
  });

  it('a state moved to another thread (structured clone, buffers transferred) answers and goes on as the original', () => {
    const text = renderRuleset({ nftables: [{ table: { family: 'inet', name: T } }, { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2', '198.18.0.3'] } }] });
    const files = [renderChangeFile(at('block'), ['198.18.0.9'], ['198.18.0.2'])];
    const original = ComposedText.build(text, files.map((f) => parseChangeFile(f)))!;
    const { state, transfer } = original.state();
    const moved = ComposedText.fromState(structuredClone(state, { transfer }));
    assert.equal(moved.text()!.toString(), String(composeRulesetText({ path: 'b', bytes: text }, files.map((bytes, i) => ({ path: `c${i}`, bytes })))));
    const req = { add: ['198.18.0.2', '198.18.0.9'], delete: ['198.18.0.1'] };
    const planned = moved.plan(at('block'), req)!;
    assert.deepEqual(planned, { kind: 'set', added: ['198.18.0.2'], deleted: ['198.18.0.1'] });
    files.push(renderChangeFile(at('block'), planned.added, planned.deleted));
    assert.equal(moved.apply(parseChangeFile(files[1]!)), true);
    // The pieces the text is joined from, before the copy: the base's lie in shared memory (a worker hashes them in place).
    const pieces = moved.pieces()!;
    const joined = moved.text()!;
    assert.equal(joined.toString(), String(composeRulesetText({ path: 'b', bytes: text }, files.map((bytes, i) => ({ path: `c${i}`, bytes })))));
    assert.deepEqual(Buffer.concat(pieces), joined);
    assert.ok(pieces.some((p) => isShared(p) && p.length > 0), 'the base taken over in shared memory');
    assert.equal(moved.pieces(), pieces, 'the same pieces until the text changes');
    assert.equal(moved.text(), joined, 'a text returned again is not joined again');
  });
});

describe('ComposedText: attack findings (docs/security.md)', () => {
  const table = { table: { family: 'inet', name: T } };
  const block = (elem: unknown[], extra: Record<string, unknown> = {}) => ({ set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', ...extra, elem } });

  it('a base holding an empty element item (composing whole drops it) is not followed, so the bytes never differ', () => {
    const text = JSON.stringify({ nftables: [table, block(['198.18.0.1']), { set: { family: 'inet', table: T, name: 'other', type: 'ipv4_addr' } }, { element: { family: 'inet', table: T, name: 'other', elem: [] } }] });
    const file = renderChangeFile(at('block'), ['198.18.0.2'], []);
    const whole = String(composeRulesetText({ path: 'b', bytes: text }, [{ path: 'c', bytes: file }]));
    assert.doesNotMatch(whole, /"element"/, 'composing whole drops the empty item');
    const composed = ComposedText.build(text, [parseChangeFile(file)]);
    assert.ok(composed === undefined || composed.text()?.toString() === whole, 'never other bytes than composing whole');
  });

  it('a set with a size: a change that would take it past the size is not planned (nft refuses it: the whole path says so)', () => {
    const text = renderRuleset({ nftables: [table, block(['198.18.0.1', '198.18.0.2'], { size: 3 })] });
    const composed = ComposedText.build(text, [])!;
    assert.deepEqual(composed.plan(at('block'), { add: ['198.18.0.3'] }), { kind: 'set', added: ['198.18.0.3'], deleted: [] });
    assert.equal(composed.plan(at('block'), { add: ['198.18.0.3', '198.18.0.4'] }), undefined);
    assert.deepEqual(composed.plan(at('block'), { add: ['198.18.0.3', '198.18.0.4'], delete: ['198.18.0.1'] })?.added, ['198.18.0.3', '198.18.0.4'], 'a delete makes room');
    assert.deepEqual(composed.plan(at('block'), { add: ['198.18.0.1', '198.18.0.2', '198.18.0.3'] })?.added, ['198.18.0.3'], 'elements present count once');
    // Followed change by change: after one add, one more passes the size.
    assert.equal(composed.apply(parseChangeFile(renderChangeFile(at('block'), ['198.18.0.3'], []))), true);
    assert.equal(composed.plan(at('block'), { add: ['198.18.0.4'] }), undefined);
    assert.deepEqual(composed.plan(at('block'), { add: ['198.18.0.4'], delete: ['198.18.0.3'] })?.deleted, ['198.18.0.3']);
    assert.equal(composed.apply(parseChangeFile(renderChangeFile(at('block'), [], ['198.18.0.3', '198.18.0.9']))), true);
    assert.deepEqual(composed.plan(at('block'), { add: ['198.18.0.4'] })?.added, ['198.18.0.4']);
  });

  it('jump and goto verdicts are planned only to a declared regular chain of the table that jumps nowhere itself (nft refuses a missing or base chain; a loop it finds only by loading)', () => {
    const vm = (elem: unknown[]) => ({ map: { family: 'inet', table: T, name: 'vm', type: 'ipv4_addr', map: 'verdict', elem } });
    const text = renderRuleset({
      nftables: [
        table,
        { table: { family: 'ip', name: T } },
        { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        { chain: { family: 'inet', table: T, name: 'leaf' } },
        { chain: { family: 'inet', table: T, name: 'hop' } },
        { chain: { family: 'ip', table: T, name: 'elsewhere' } },
        { rule: { family: 'inet', table: T, chain: 'leaf', expr: [{ counter: null }, { drop: null }] } },
        { rule: { family: 'inet', table: T, chain: 'hop', expr: [{ vmap: { key: { payload: { protocol: 'ip', field: 'saddr' } }, data: '@vm' } }] } },
        vm([['198.18.0.1', { accept: null }], ['198.18.0.5', { jump: { target: 'leaf' } }]]),
      ],
    });
    const composed = ComposedText.build(text, [])!;
    const vmAt = at('vm');
    assert.deepEqual(composed.plan(vmAt, { add: [['198.18.0.2', 'jump leaf'], ['198.18.0.3', { goto: { target: 'leaf' } }], ['198.18.0.4', 'drop']] })?.added.length, 3);
    for (const target of ['nochain', 'in', 'hop', 'elsewhere']) {
      assert.equal(composed.plan(vmAt, { add: [['198.18.0.2', `jump ${target}`]] }), undefined, `jump ${target}`);
      assert.equal(composed.plan(vmAt, { add: [['198.18.0.2', { goto: { target } }]] }), undefined, `goto ${target}`);
    }
    assert.deepEqual(composed.plan(vmAt, { delete: ['198.18.0.1'] })?.deleted, [['198.18.0.1', { accept: null }]], 'deletes are planned whatever the verdicts');
  });
  it('a jump or goto is planned only in a map whose base already jumps somewhere (nft refuses a jump past 16 levels: the depth the map is reached at was loaded with one)', () => {
    const chains = [
      { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { chain: { family: 'inet', table: T, name: 'leaf' } },
      { rule: { family: 'inet', table: T, chain: 'in', expr: [{ vmap: { key: { payload: { protocol: 'ip', field: 'saddr' } }, data: '@vm' } }] } },
    ];
    const vm = (elem: unknown[]) => ({ map: { family: 'inet', table: T, name: 'vm', type: 'ipv4_addr', map: 'verdict', elem } });
    const without = ComposedText.build(renderRuleset({ nftables: [table, ...chains, vm([['198.18.0.1', { accept: null }]])] }), [])!;
    assert.equal(without.plan(at('vm'), { add: [['198.18.0.2', 'jump leaf']] }), undefined);
    assert.equal(without.plan(at('vm'), { add: [['198.18.0.2', { goto: { target: 'leaf' } }]] }), undefined);
    assert.equal(without.plan(at('vm'), { add: [['198.18.0.2', 'drop']] })?.added.length, 1);
    // A jump added by a change file does not count: only what the validator loaded.
    const viaChange = ComposedText.build(renderRuleset({ nftables: [table, ...chains, vm([['198.18.0.1', { accept: null }]])] }), [parseChangeFile(renderChangeFile(at('vm'), [['198.18.0.3', { jump: { target: 'leaf' } }]], []))])!;
    assert.equal(viaChange.plan(at('vm'), { add: [['198.18.0.2', 'jump leaf']] }), undefined);
    const withJump = ComposedText.build(renderRuleset({ nftables: [table, ...chains, vm([['198.18.0.1', { goto: { target: 'leaf' } }]])] }), [])!;
    assert.equal(withJump.plan(at('vm'), { add: [['198.18.0.2', 'jump leaf']] })?.added.length, 1);
  });
  it('a change that would take the text past the ruleset text limit of arrays and objects is not planned (agents and the validator refuse such a text: TOO_COMPLEX)', () => {
    const pm = (elem: unknown[]) => ({ map: { family: 'inet', table: T, name: 'pm', type: ['ipv4_addr', 'inet_service'], map: 'verdict', elem } });
    const text = renderRuleset({ nftables: [table, pm([[{ concat: ['198.18.0.1', 22] }, { accept: null }]])] });
    const containers = (t: string) => (t.match(/[[{]/g) ?? []).length;
    const limit = containers(text) + 4;
    const composed = ComposedText.build(text, [], { maxContainers: limit })!;
    const el = (i: number) => [{ concat: [ip(i), 22] }, 'drop'];
    const first = composed.plan(at('pm'), { add: [el(2)] })!;
    assert.equal(first.added.length, 1);
    assert.equal(composed.plan(at('pm'), { add: [el(2), el(3)] }), undefined, 'two more pass the limit');
    assert.equal(composed.apply(parseChangeFile(renderChangeFile(at('pm'), first.added, []))), true);
    assert.equal(containers(composed.text()!.toString()), limit, 'at the limit');
    assert.equal(composed.plan(at('pm'), { add: [el(3)] }), undefined);
    assert.equal(composed.plan(at('pm'), { add: [el(3)], delete: [el(1)] })?.added.length, 1, 'a delete makes room');
    assert.equal(composed.plan(at('pm'), { add: [[{ concat: ['198.18.0.1', 22] }, 'drop']] })?.added.length, 1, 'a replacement adds nothing');
    // Followed through change files built in: the count is the text's.
    const rebuilt = ComposedText.build(text, [parseChangeFile(renderChangeFile(at('pm'), first.added, []))], { maxContainers: limit })!;
    assert.equal(rebuilt.plan(at('pm'), { add: [el(3)] }), undefined);
  });
  it('moved to another thread (state, fromState), a tip still refuses what nft must judge: past the size, past the containers limit, a jump where the base has none', () => {
    const chains = [{ chain: { family: 'inet', table: T, name: 'leaf' } }];
    const text = renderRuleset({
      nftables: [
        table,
        ...chains,
        block(['198.18.0.1', '198.18.0.2'], { size: 2 }),
        { map: { family: 'inet', table: T, name: 'vm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }]] } },
        { map: { family: 'inet', table: T, name: 'vj', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { jump: { target: 'leaf' } }]] } },
      ],
    });
    const containers = (t: string) => (t.match(/[[{]/g) ?? []).length;
    const here = ComposedText.build(text, [], { maxContainers: containers(text) + 3 })!;
    const moved = ComposedText.fromState(structuredClone(here.state().state));
    assert.equal(moved.plan(at('block'), { add: ['198.18.0.3'] }), undefined, 'past the size');
    assert.equal(moved.plan(at('vm'), { add: [['198.18.0.2', 'jump leaf']] }), undefined, 'no jump in the base');
    assert.equal(moved.plan(at('vj'), { add: [['198.18.0.2', 'jump leaf'], ['198.18.0.3', 'drop']] }), undefined, 'past the containers limit (3 and 2 where 3 are left)');
    assert.equal(moved.plan(at('vj'), { add: [['198.18.0.2', 'jump leaf']] })?.added.length, 1, 'a jump to a leaf chain where the base jumps');
  });
});

