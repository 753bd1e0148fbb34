/**
 * Review of the pad's floor (text-pad.ts padFloor: the base rendered and a line for every element a
 * change file adds, re-adds included): ComposedText against composeRulesetText where the net
 * change is empty, and the pad's size under churn (the same elements added and deleted again).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { PAD_MAX_BYTES, padUnit } from '../../../../shared/ruleset/text-pad.js';
import { BIG_SET, BIG_SET_TABLE, bigSetBase, bigSetIp } from '../../../helpers/padded-text.js';

const T = BIG_SET_TABLE;
const at = BIG_SET;
const ip = bigSetIp;
const bigBase = bigSetBase;

const compose = (base: Buffer | string, files: readonly string[]): Buffer => Buffer.from(composeRulesetText({ path: 'b', bytes: base }, files.map((t, i) => ({ path: `c${i}`, bytes: t }))));

/** Change files adding `per` new addresses and deleting them again, `cycles` times (the net change: none). */
function churn(cycles: number, per: number): string[] {
  const files: string[] = [];
  for (let c = 0; c < cycles; c++) {
    const xs = Array.from({ length: per }, (_, i) => ip(200_000 + c * per + i));
    files.push(renderChangeFile(at, xs, []), renderChangeFile(at, [], xs));
  }
  return files;
}

describe('ComposedText and the pad floor (review)', () => {
  it('a change file with nothing in it (pushed by hand): text() is composeRulesetText byte for byte', () => {
    const base = bigBase(60_000);
    const empty = renderChangeFile(at, [], []);
    const want = compose(base, [empty]);
    const built = ComposedText.build(base, [parseChangeFile(empty)])!;
    assert.equal(built.text()!.length, want.length, 'build(base, [empty]): length');
    assert.ok(built.text()!.equals(want));
    // Taken one by one, and after a move to another thread.
    const c = ComposedText.build(base, [])!;
    assert.ok(c.apply(parseChangeFile(empty)));
    const { state, transfer } = c.state();
    const moved = ComposedText.fromState(structuredClone(state, { transfer }));
    assert.ok(moved.text()!.equals(want), 'apply(empty) then fromState');
    // And on a fold's base (a composed text and its pad).
    const fold = compose(base, [renderChangeFile(at, [ip(100_000)], [])]);
    const wantFold = compose(fold, [empty]);
    assert.ok(ComposedText.build(fold, [parseChangeFile(empty)])!.text()!.equals(wantFold), 'fold base, empty change file');
  });

  it('a fold of a text whose pad grew past a unit with churn: its base with no change is the base file', () => {
    // 8 cycles of 25,000 addresses added and deleted: the floor counts 8 * 25,000 lines of about
    // 24 bytes, 4.8 MB, and the effective ruleset is the base's.
    const base = bigBase(44_000);
    const files = churn(8, 25_000);
    const text = compose(base, files);
    const incremental = ComposedText.build(base, files.map((f) => parseChangeFile(f)))!;
    assert.ok(incremental.text()!.equals(text), 'ComposedText agrees with composeRulesetText');
    const pad = incremental.pad;
    assert.ok(pad > padUnit(Buffer.byteLength(base)) && pad <= PAD_MAX_BYTES, `the pad passed a unit, within PAD_MAX_BYTES: ${pad}`);
    // A fold stores that text as the base (server/git/element-tips.ts, fold-elements.ts): with
    // no change it must be the base file itself, as composeRulesetText serves it.
    const folded = ComposedText.build(text, [])!;
    assert.equal(folded.text()!.length, text.length, 'the fold base with no change: length');
    assert.ok(folded.text()!.equals(text));
    assert.equal(folded.pad, pad);
  });

  it('churn: adding and deleting the same elements keeps the pad within PAD_MAX_BYTES (text-pad.ts: "the most pad a text gets")', () => {
    const base = bigBase(44_000);
    const files = churn(8, 25_000);
    const text = compose(base, files);
    const content = Buffer.from(renderRuleset(JSON.parse(text.toString()))).length;
    assert.equal(content, Buffer.byteLength(base), 'the effective ruleset is the base');
    assert.ok(text.length - content <= PAD_MAX_BYTES, `pad ${text.length - content} bytes on a ${content}-byte ruleset (unit ${padUnit(Buffer.byteLength(base))})`);
  });

  it('a base written on one line (nft -j list ruleset, pushed by hand): adding and deleting the same elements never moves the size', () => {
    const ruleset = (n: number) => ({
      nftables: [
        { table: { family: 'inet', name: T } },
        { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: Array.from({ length: n }, (_, i) => ip(i)) } },
      ],
    });
    // A set whose rendered text ends 5-20 KB short of a multiple of the unit.
    let n = 75_000;
    for (;;) {
      const rendered = Buffer.byteLength(renderRuleset(ruleset(n) as never));
      const unit = padUnit(Buffer.byteLength(JSON.stringify(ruleset(n))));
      const rest = unit - (rendered % unit);
      if (rest > 5000 && rest < 20_000) break;
      n += 97;
    }
    const base = JSON.stringify(ruleset(n));
    const xs = Array.from({ length: 1500 }, (_, i) => ip(200_000 + i));
    const files: string[] = [];
    const sizes: number[] = [];
    for (let k = 0; k < 4; k++) {
      files.push(k % 2 === 0 ? renderChangeFile(at, xs, []) : renderChangeFile(at, [], xs));
      sizes.push(compose(base, files).length);
    }
    // (Before the floor counted the base rendered (floorBase), it counted its bytes as written: one
    // line here, shorter than the text, so the size moved at every change until the first fold.)
    assert.deepEqual(sizes, sizes.map(() => sizes[0]), `sizes ${sizes.join(' ')}`);
    // The fast path (ComposedText) counts the base alike: the same bytes.
    const built = ComposedText.build(base, files.map((f) => parseChangeFile(f)))!;
    assert.ok(built.text()!.equals(compose(base, files)), 'ComposedText and composeRulesetText agree on a base written on one line');
  });
});
