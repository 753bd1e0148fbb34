import assert from 'node:assert/strict';
import { rng } from '../../../helpers/seeded-rng.js';
import { describe, it } from 'node:test';
import { windowDelta } from '../../../../shared/wire/window-delta.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { SpareBuffer } from '../../../../shared/bytes/spare-buffer.js';
import { PAD_LINE_BYTES, padOf } from '../../../../shared/ruleset/text-pad.js';


const ip = (i: number): string => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const MAX = 1 << 30;

/** Bytes `a` and `b` share at their start. */
function commonPrefix(a: Buffer, b: Buffer): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** What the agent takes from a delta: the bytes and the edit it plans from. */
const rebuilt = (base: Buffer, delta: Buffer) => {
  const r = rebuildFromRulesetDelta(base, delta, MAX);
  return { bytes: r.bytes.toString(), edits: r.edits };
};

describe('windowDelta', () => {
  it('element changes followed by ComposedText (adds, deletes, replacements, re-adds, the last element): the delta rebuilds the target and reads as the same edit as encodeRulesetDelta\'s; a change in two places is left to the encoder', () => {
    const r = rng(5);
    const at = { family: 'inet', table: 'f', name: 'block' };
    const map = { family: 'inet', table: 'f', name: 'marks' };
    const base = renderRuleset({
      nftables: [
        { table: { family: 'inet', name: 'f' } },
        { set: { family: 'inet', table: 'f', name: 'block', type: 'ipv4_addr', elem: Array.from({ length: 3000 }, (_, i) => ip(i)) } },
        { map: { family: 'inet', table: 'f', name: 'marks', type: 'ipv4_addr', map: 'mark', elem: Array.from({ length: 50 }, (_, i) => [ip(i), i]) } },
        { chain: { family: 'inet', table: 'f', name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      ],
    } as never);
    const composed = ComposedText.build(base, [])!;
    const spare = new SpareBuffer();
    let last = composed.text()!;
    let held = Buffer.from(last);
    let heldLines: number | undefined;
    let taken = 0;
    let left = 0;
    let skipped = 0;
    for (let step = 0; step < 300; step++) {
      const kind = r();
      const set = kind < 0.85 ? at : map;
      const n = 1 + Math.floor(r() * (r() < 0.2 ? 200 : 5));
      const pick = (): number => Math.floor(r() * (set === at ? 4000 : 80));
      const req =
        set === at
          ? r() < 0.6
            ? { add: Array.from({ length: n }, () => ip(pick())) }
            : r() < 0.5
              ? { delete: Array.from({ length: n }, () => ip(pick())) }
              : { add: [ip(2999)], delete: [ip(2996 + Math.floor(r() * 3))] }
          : { add: Array.from({ length: n }, () => [ip(pick()), Math.floor(r() * 9)]) };
      const planned = composed.plan(set, req);
      if (planned === undefined || planned.added.length + planned.deleted.length === 0) continue;
      assert.equal(composed.apply(parseChangeFile(renderChangeFile(set, planned.added, planned.deleted))), true);
      // Into shared memory every other step, as the element API writes it.
      const next = step % 2 === 0 ? composed.text()! : composed.text((size) => spare.take(size))!;
      const change = { added: planned.added.length, deleted: planned.deleted.length };
      const w = windowDelta(held, next, change, { baseLines: heldLines });
      // The head both texts were joined from is taken as equal without comparing: never more than
      // the bytes they really share at their start, and the same delta as comparing them.
      const known = composed.sharedHead(last);
      const same = commonPrefix(held, next);
      assert.ok(known <= same, `step ${step}: ${known} bytes taken as shared, ${same} really shared`);
      assert.deepEqual(windowDelta(held, next, change, { baseLines: heldLines, knownPrefix: known }), w, `step ${step}: the same delta with the shared head known`);
      // The tail of the target alone (from the line the shared head ends in), as the element API passes it before the copy.
      const from = known === 0 ? 0 : held.lastIndexOf(10, known - 1) + 1;
      const tail = Buffer.from(next.subarray(from));
      assert.deepEqual(windowDelta(held, tail, change, { baseLines: heldLines, knownPrefix: known, targetFrom: from }), w, `step ${step}: the same delta from the tail`);
      if (known > next.length / 2) skipped++;
      assert.equal(composed.sharedHead(held), 0, 'a copy of the last text is not the text built: nothing taken as shared');
      last = next;
      const d = w?.delta;
      const e = encodeRulesetDelta(held, next);
      // The line count handed on: counted from the text after a wide change, else the last one's.
      heldLines = w?.lines;
      if (w !== undefined) assert.equal(w.lines, next.toString().split('\n').length, `step ${step}: the target's lines`);
      if (d === undefined) left++;
      else {
        taken++;
        assert.ok(e !== undefined, `step ${step}: the encoder finds a delta too`);
        assert.deepEqual(rebuilt(held, d), rebuilt(held, e), `step ${step}: same bytes, same edit as the encoder's`);
        assert.equal(rebuilt(held, d).bytes, next.toString());
      }
      held = Buffer.from(next);
    }
    assert.ok(taken > 50 && left > 10, `${taken} taken, ${left} left to the encoder`);
    assert.ok(skipped > 30, `${skipped} changes with most of the text known shared`);
  });

  it('one block of lines inserted, removed or replaced anywhere (first line, last line, with and without a final newline); wider windows and equal texts give none', () => {
    const r = rng(9);
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `line ${tag} ${i} ${'x'.repeat(i % 7)}`);
    let cases = 0;
    for (let c = 0; c < 2000; c++) {
      const base = lines(40 + Math.floor(r() * 40), 'b');
      const at = Math.floor(r() * (base.length + 1));
      const del = Math.min(base.length - at, Math.floor(r() * 4));
      const ins = lines(Math.floor(r() * 4), `n${c}`);
      if (del + ins.length === 0) continue;
      const target = [...base.slice(0, at), ...ins, ...base.slice(at + del)];
      const end = r() < 0.7 ? '\n' : '';
      const b = Buffer.from(base.join('\n') + end);
      const t = Buffer.from(target.join('\n') + end);
      const w = windowDelta(b, t, { added: ins.length, deleted: del }, { baseLines: c % 2 === 0 ? base.length + (end === '' ? 0 : 1) : undefined });
      const d = w?.delta;
      if (d === undefined) continue;
      assert.equal(w!.lines, target.length + (end === '' ? 0 : 1), `case ${c}: the target's lines`);
      cases++;
      assert.equal(rebuilt(b, d).bytes, t.toString(), `case ${c}`);
    }
    assert.ok(cases > 1500, `${cases} cases rebuilt`);
    const base = Buffer.from(lines(100, 'b').join('\n') + '\n');
    const far = lines(100, 'b');
    far[3] = 'changed';
    far[90] = 'changed too';
    assert.equal(windowDelta(base, Buffer.from(far.join('\n') + '\n'), { added: 2, deleted: 2 })?.delta, undefined, 'two places: the encoder');
    assert.equal(windowDelta(base, base, { added: 1, deleted: 0 }), undefined, 'nothing changed');
    const one = lines(100, 'b');
    one.splice(50, 0, 'new', 'newer');
    assert.equal(windowDelta(base, Buffer.from(one.join('\n') + '\n'), { added: 0, deleted: 0 }), undefined, 'more lines than the change made');
    assert.equal(windowDelta(Buffer.from('a\nb\n'), Buffer.from('a\nx\nb\n'), { added: 1, deleted: 0 }), undefined, 'not under half of the target');
  });
  it('adversarial texts (review): byte-level edits anywhere, repeated lines, partial lines, empty lines, multi-byte characters, no final newline: whenever a delta comes, it rebuilds the target exactly and counts its lines right', () => {
    const r = rng(4242);
    const pieces = ['a', 'b', '\n', ',', 'a\n', 'b,\n', '\n\n', 'é', '"x",\n'];
    const text = (n: number): string => Array.from({ length: n }, () => pieces[Math.floor(r() * pieces.length)]).join('');
    let cases = 0;
    for (let c = 0; c < 20_000; c++) {
      const core = text(Math.floor(r() * 30));
      const at = Math.floor(r() * (core.length + 1));
      const to = at + Math.floor(r() * (core.length - at + 1));
      const edited = core.slice(0, at) + text(Math.floor(r() * 6)) + core.slice(to);
      // Common lines around (the delta must be under half the target), sometimes none at one end.
      const pad = 'x\n'.repeat(60);
      const head = r() < 0.2 ? '' : pad;
      const tail = r() < 0.3 ? '' : pad;
      const b = Buffer.from(head + core + tail);
      const t = Buffer.from(head + edited + tail);
      const change = { added: Math.floor(r() * 4), deleted: Math.floor(r() * 4) };
      const baseLines = r() < 0.5 ? b.toString().split('\n').length : undefined;
      const w = windowDelta(b, t, change, { baseLines });
      if (w === undefined) continue;
      cases++;
      assert.equal(rebuilt(b, w.delta).bytes, t.toString(), `case ${c}: ${JSON.stringify(core)} -> ${JSON.stringify(edited)}`);
      assert.equal(w.lines, t.toString().split('\n').length, `case ${c}: the target's lines`);
    }
    assert.ok(cases > 1000, `${cases} cases rebuilt`);
  });
});

describe('windowDelta with pads (shared/ruleset/text-pad.ts)', () => {
  it('texts that end with pads of any size (the server\'s form, or any lines of spaces): the delta rebuilds the target, counts its lines, and is the same from the tail alone; a pad that does not end a line gives none', () => {
    const r = rng(77);
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `line ${tag} ${i}`);
    const anyPad = (): Buffer => {
      if (r() < 0.6) return Buffer.from(padOf(Math.floor(r() * 5000)));
      return Buffer.from(Array.from({ length: Math.floor(r() * 6) }, () => ' '.repeat(Math.floor(r() * 40)) + '\n').join(''));
    };
    let cases = 0;
    let padHunks = 0;
    for (let c = 0; c < 3000; c++) {
      const base = lines(200 + Math.floor(r() * 40), 'b');
      const at = Math.floor(r() * (base.length + 1));
      const del = Math.min(base.length - at, Math.floor(r() * 3));
      const ins = r() < 0.1 ? [] : lines(Math.floor(r() * 4), `n${c}`);
      const target = [...base.slice(0, at), ...ins, ...base.slice(at + del)];
      const padB = anyPad();
      const padT = r() < 0.1 ? padB : anyPad();
      const b = Buffer.concat([Buffer.from(base.join('\n') + '\n'), padB]);
      const t = Buffer.concat([Buffer.from(target.join('\n') + '\n'), padT]);
      const change = { added: ins.length, deleted: del };
      const pads = { base: padB.length, target: padT.length };
      const baseLines = r() < 0.5 ? b.toString().split('\n').length : undefined;
      const w = windowDelta(b, t, change, { baseLines, pads });
      if (b.equals(t)) assert.equal(w, undefined, 'equal texts: none');
      if (w === undefined) continue;
      cases++;
      if (!padB.equals(padT)) padHunks++;
      assert.equal(rebuilt(b, w.delta).bytes, t.toString(), `case ${c}`);
      assert.equal(w.lines, t.toString().split('\n').length, `case ${c}: the target's lines`);
      const known = Math.min(commonPrefix(b, t), b.length - padB.length, t.length - padT.length);
      const from = known === 0 ? 0 : b.lastIndexOf(10, known - 1) + 1;
      assert.deepEqual(windowDelta(b, t.subarray(from), change, { baseLines, pads, knownPrefix: known, targetFrom: from }), w, `case ${c}: from the tail`);
    }
    assert.ok(cases > 2000 && padHunks > 1500, `${cases} cases, ${padHunks} with the pads changed`);
    const text = Buffer.from('a\n'.repeat(100));
    assert.equal(windowDelta(Buffer.concat([text, Buffer.from('  ')]), Buffer.concat([text, Buffer.from('   ')]), { added: 0, deleted: 0 }, { pads: { base: 2, target: 3 } }), undefined, 'a pad without its newline');
  });

  it('a big composed text followed change by change (the size kept by the pad): a window and a pad hunk of at most one line inserted, worked out from the tail after the shared head; the delta is a little over the change itself', () => {
    const at = { family: 'inet', table: 'f', name: 'block' };
    const baseText = renderRuleset({
      nftables: [
        { table: { family: 'inet', name: 'f' } },
        { set: { family: 'inet', table: 'f', name: 'block', type: 'ipv4_addr', elem: Array.from({ length: 60_000 }, (_, i) => ip(i)) } },
        { chain: { family: 'inet', table: 'f', name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      ],
    } as never);
    const composed = ComposedText.build(baseText, [])!;
    composed.apply(parseChangeFile(renderChangeFile(at, [ip(70_000)], [])));
    let held = composed.text()!;
    let heldPad = composed.pad;
    let heldLines: number | undefined;
    for (let c = 0; c < 6; c++) {
      const added = Array.from({ length: 300 }, (_, i) => ip(100_000 + c * 300 + i));
      assert.ok(composed.apply(parseChangeFile(renderChangeFile(at, added, []))));
      const pieces = composed.pieces()!;
      const known = composed.sharedHead(held);
      const from = held.lastIndexOf(10, known - 1) + 1;
      const next = composed.text()!;
      assert.ok(held.length - known < 20_000 + heldPad, `change ${c}: ${held.length - known} bytes not known shared`);
      const w = windowDelta(held, next.subarray(from), { added: 300, deleted: 0 }, { baseLines: heldLines, knownPrefix: known, targetFrom: from, pads: { base: heldPad, target: composed.pad } });
      assert.ok(w !== undefined, `change ${c}: a window`);
      assert.equal(rebuilt(held, w.delta).bytes, next.toString());
      assert.equal(w.lines, next.toString().split('\n').length);
      assert.ok(w.delta.length < 300 * 30 + PAD_LINE_BYTES + 200, `change ${c}: ${w.delta.length} bytes of delta`);
      assert.ok(pieces.length > 0);
      held = next;
      heldPad = composed.pad;
      heldLines = w.lines;
    }
  });
});
