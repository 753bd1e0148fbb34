/**
 * padLines: the lengths of a pad's lines (spaces, each ended by `\n`), none for anything else.
 * editedPad: the pad a delta's line edits leave, exactly the rebuilt bytes' own (checked against
 * padLines of them over many pads, as the server writes them and not, and over hostile edits),
 * and none where the edited lines are not a pad.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { editedPad, padLines } from '../../../../shared/ruleset/pad-lines.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta, type LineEdit } from '../../../../shared/wire/ruleset-delta.js';
import { serverPad } from '../../../helpers/padded-text.js';
const HEAD = '{\n  "nftables": []\n}\n'; // a text before the pad: 3 lines, the pad starts on line 3
const FROM = 3;
const pad = (...lengths: number[]): Uint32Array => Uint32Array.from(lengths);
const sp = (n: number): string => ' '.repeat(n);

test('padLines: the length of each pad line, from a line start to the end of the bytes', () => {
  assert.deepEqual(padLines(Buffer.from(HEAD), HEAD.length), pad());
  assert.deepEqual(padLines(Buffer.from(HEAD + serverPad(3000)), HEAD.length), pad(951, 1023, 1023));
  assert.deepEqual(padLines(Buffer.from(HEAD + serverPad(1025)), HEAD.length), pad(0, 1023), 'n mod 1024 = 1: an empty line');
  assert.deepEqual(padLines(Buffer.from(`${HEAD}\n\n${sp(9000)}\n \n`), HEAD.length), pad(0, 0, 9000, 1), 'any lines of spaces, of any length');
});

test('padLines: none for anything but lines of spaces each ended by a newline', () => {
  const cases: Array<[string, string]> = [
    ['a last line without its newline', '   \n  '],
    ['only spaces, no newline', '    '],
    ['a tab', '  \t \n'],
    ['a carriage return', '  \r\n'],
    ['a letter', ' x\n'],
    ['a non-breaking space', '\u00a0\n'],
    ['a non-space byte past the first chunk of a long line', `${sp(5000)}.${sp(100)}\n`],
    ['JSON after the value', '{}\n'],
  ];
  for (const [why, tail] of cases) assert.equal(padLines(Buffer.from(HEAD + tail), HEAD.length), undefined, why);
  assert.equal(padLines(Buffer.from(HEAD), HEAD.length + 1), undefined, 'a start past the end');
});

test('editedPad: the pad after edits of its lines', () => {
  const base = pad(951, 1023, 1023); // lines 3, 4, 5; the empty last line is line 6
  const F = sp(1023);
  const cases: Array<[string, LineEdit[], Uint32Array | undefined]> = [
    ['no edits: the same lines', [], base],
    ['shrunk by a whole line and a changed first line', [{ line: 3, deleted: [sp(951)], inserted: [sp(10)] }, { line: 5, deleted: [F], inserted: [] }], pad(10, 1023)],
    ['grown after the text', [{ line: 3, deleted: [], inserted: [F] }], pad(1023, 951, 1023, 1023)],
    ['grown at the end: the last line rewritten, the new last one empty', [{ line: 6, deleted: [''], inserted: [sp(5), ''] }], pad(951, 1023, 1023, 5)],
    ['grown after the last line (an insertion at the very end)', [{ line: 7, deleted: [], inserted: [sp(3), ''] }], pad(951, 1023, 1023, 0, 3)],
    ['gone', [{ line: 3, deleted: [sp(951), F, F], inserted: [] }], pad()],
    ['gone, last line and all', [{ line: 3, deleted: [sp(951), F, F, ''], inserted: [''] }], pad()],
  ];
  for (const [why, edits, want] of cases) assert.deepEqual(editedPad(FROM, base, edits), want, why);
  assert.equal(editedPad(FROM, base, []), base, 'the very array when nothing changes');
  // A deletion that leaves an empty pad line last: the bytes still end in a newline.
  assert.deepEqual(editedPad(FROM, pad(0, 1023), [{ line: 4, deleted: [F, ''], inserted: [] }]), pad(), 'the empty line left last is the last line');
});

test('editedPad: none for edits that do not leave a pad, or do not fit it', () => {
  const base = pad(0, 1023); // lines 3, 4; the empty last line is line 5
  const F = sp(1023);
  const cases: Array<[string, LineEdit[]]> = [
    ['a line with something else than spaces inserted', [{ line: 4, deleted: [], inserted: [' x'] }]],
    ['a tab inserted', [{ line: 3, deleted: [''], inserted: ['\t'] }]],
    ['everything replaced by a line of spaces (no final newline)', [{ line: 3, deleted: ['', F, ''], inserted: [' '] }]],
    ['a line of spaces inserted last', [{ line: 6, deleted: [], inserted: [' '] }]],
    ['the last line replaced by spaces', [{ line: 5, deleted: [''], inserted: ['  '] }]],
    ['everything deleted, the last line too, nothing left to end the bytes', [{ line: 3, deleted: ['', F, ''], inserted: [] }]],
    ['a deleted line of another length than the pad has there', [{ line: 4, deleted: [sp(1022)], inserted: [] }]],
    ['a deleted line past the last', [{ line: 5, deleted: ['', ''], inserted: [''] }]],
    ['an edit before the pad', [{ line: 2, deleted: ['}'], inserted: ['}'] }]],
    ['edits out of order', [{ line: 4, deleted: [F], inserted: [] }, { line: 3, deleted: [''], inserted: [] }]],
    ['an insertion past the last line', [{ line: 7, deleted: [], inserted: [''] }]],
  ];
  for (const [why, edits] of cases) assert.equal(editedPad(FROM, base, edits), undefined, why);
  assert.equal(editedPad(FROM, pad(3, 1023), [{ line: 4, deleted: [F, ''], inserted: [] }]), undefined, 'a deletion leaving a non-empty pad line last');
});

test('editedPad over the delta between two padded texts (server pads and any others): exactly the pad of the rebuilt bytes', () => {
  const anyPad = fc.array(fc.oneof(fc.nat(3), fc.constantFrom(1023, 1024, 5000)), { maxLength: 6 }).map((ls) => ls.map((n) => `${sp(n)}\n`).join(''));
  const someText = fc.oneof(fc.nat(6000).map(serverPad), anyPad);
  let exposed = 0;
  fc.assert(
    fc.property(someText, someText, fc.boolean(), (p, q, moveHead) => {
      const a = Buffer.from(HEAD + p);
      const bHead = moveHead ? HEAD.replace('[]', '[1]') : HEAD; // the same line count before the pad
      const b = Buffer.from(bHead + q);
      const delta = encodeRulesetDelta(a, b);
      if (delta === undefined) return;
      const { edits } = rebuildFromRulesetDelta(a, delta, 1 << 24);
      assert.ok(edits);
      const padEdits = edits.filter((e) => e.line >= FROM);
      assert.equal(padEdits.length, edits.length - (moveHead ? 1 : 0));
      const base = padLines(a, HEAD.length)!;
      const last = padEdits[padEdits.length - 1];
      if (last && last.line + last.deleted.length === base.length + FROM + 1 && last.inserted.length === 0) exposed++;
      assert.deepEqual(editedPad(FROM, base, padEdits), padLines(b, bHead.length));
    }),
    { numRuns: 2000, seed: 7 },
  );
  assert.ok(exposed > 5, `a deletion left a kept line last in ${exposed} pairs`);
});

test('editedPad over hostile edits of a pad (lines of spaces or not, removed and inserted anywhere from the pad on): a pad exactly when the rebuilt bytes end in one', () => {
  const line = fc.oneof(fc.nat(4).map(sp), fc.constantFrom(sp(1023), ' x', '\t', '}', ' \r'));
  let pads = 0;
  fc.assert(
    fc.property(fc.array(fc.nat(4).map(sp), { maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(line, { maxLength: 3 })), { minLength: 1, maxLength: 3 }), (baseLines, ops) => {
      const a = Buffer.from(HEAD + baseLines.map((l) => `${l}\n`).join(''));
      const lines = a.toString().split('\n');
      // Edits in base order, apart: each at or after the end of the one before.
      const edits: LineEdit[] = [];
      let pos = FROM;
      for (const [gap, del, inserted] of ops) {
        const at = Math.min(lines.length, pos + (gap % 3));
        const n = Math.min(del, lines.length - at);
        if (n + inserted.length === 0) continue;
        edits.push({ line: at, deleted: lines.slice(at, at + n), inserted });
        pos = at + n + 1;
      }
      const out: string[] = [];
      let i = 0;
      for (const e of edits) {
        out.push(...lines.slice(i, e.line), ...e.inserted);
        i = e.line + e.deleted.length;
      }
      out.push(...lines.slice(i));
      const b = Buffer.from(out.join('\n'));
      const want = padLines(b, HEAD.length);
      if (want !== undefined) pads++;
      assert.deepEqual(editedPad(FROM, padLines(a, HEAD.length)!, edits), want);
    }),
    { numRuns: 3000, seed: 8 },
  );
  assert.ok(pads > 300 && pads < 2700, `${pads} of 3000 edits left a pad`);
});

test('padLines and editedPad: a pad of more lines than any server writes is none (review: 20 MB of newlines after the text took 1.2 s and 600 MB of heap, and kept 80 MB for the layout)', () => {
  // The server's pad is at most 4 MiB in lines of 1 KiB (shared/ruleset/text-pad.ts): about 4,100 lines.
  const many = 1 << 20;
  assert.equal(padLines(Buffer.from(HEAD + '\n'.repeat(many)), HEAD.length), undefined, 'a million empty lines');
  assert.equal(padLines(Buffer.from(HEAD + ' \n'.repeat(many)), HEAD.length), undefined, 'a million lines of one space');
  assert.deepEqual(padLines(Buffer.from(HEAD + serverPad(4 << 20)), HEAD.length)?.length, 4096, 'the largest pad the server writes');
  assert.equal(editedPad(FROM, pad(1023), [{ line: FROM, deleted: [], inserted: new Array<string>(many).fill('') }]), undefined, 'a delta inserting a million pad lines');
});
