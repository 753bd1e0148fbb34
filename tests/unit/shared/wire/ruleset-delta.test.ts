/** The ruleset delta codec: what encode gives, apply rebuilds exactly; bad deltas are refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NftSyncError } from '../../../../shared/errors.js';
import { EDIT_LINES_MAX, applyRulesetDelta, encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

test('apply(encode(base, target)) is target, for random line edits', () => {
  const line = fc.constantFrom('a', 'b', 'c', '', '  "198.18.0.1",', 'é');
  fc.assert(
    fc.property(fc.array(line, { maxLength: 40 }), fc.array(fc.tuple(fc.nat(40), fc.boolean(), line), { maxLength: 6 }), (base, edits) => {
      const t = [...base];
      for (const [at, del, l] of edits) {
        if (del && t.length > 0) t.splice(at % t.length, 1);
        else t.splice(at % (t.length + 1), 0, l);
      }
      const a = Buffer.from(base.join('\n'));
      const b = Buffer.from(t.join('\n'));
      const d = encodeRulesetDelta(a, b);
      if (d !== undefined) {
        assert.ok(d.length <= b.length / 2 + 1);
        assert.deepEqual(applyRulesetDelta(a, d, 1 << 20), b);
      }
    }),
    { numRuns: 3000 },
  );
});

test('a 1,000-line change to a 100,000-line blocklist is a delta of a few kilobytes', () => {
  const base = Array.from({ length: 100_000 }, (_, i) => `   "10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}",`);
  const target = [...base];
  for (let k = 0; k < 500; k++) {
    target.splice((k * 7919) % 99_000, 1);
    target.splice((k * 104_729) % 99_000, 0, `   "11.0.${k >> 8}.${k & 255}",`);
  }
  const a = Buffer.from(base.join('\n'));
  const b = Buffer.from(target.join('\n'));
  const d = encodeRulesetDelta(a, b);
  assert.ok(d !== undefined && d.length < 40_000, `delta of ${d?.length} bytes for ${b.length}`);
  assert.deepEqual(applyRulesetDelta(a, d, b.length), b);
});

test('no delta when it would not be under half the target: the whole ruleset goes', () => {
  assert.equal(encodeRulesetDelta(Buffer.from('a\nb\nc'), Buffer.from('x\ny\nz')), undefined);
});

test('a malformed delta, one that does not fit the base, or one that grows past the limit is refused with a code', () => {
  const base = Buffer.from('a\nb\nc');
  const cases: Array<[string, string]> = [
    ['garbage\n', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n= 2\n', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n= 4\n', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n+ 3\nx\n', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n= 0\n= 3\n', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n= 3', 'NFTSYNC_ERR_MSG_INVALID'],
    ['nft-sync-delta 1\n= 3\n+ 1\n' + 'x'.repeat(100) + '\n', 'NFTSYNC_ERR_RULESET_TOO_LARGE'],
  ];
  for (const [delta, code] of cases) {
    assert.throws(() => applyRulesetDelta(base, Buffer.from(delta), 50), (e: unknown) => e instanceof NftSyncError && e.code === code, delta);
  }
  assert.deepEqual(applyRulesetDelta(base, Buffer.from('nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n'), 50), Buffer.from('a\nx\nc'));
});

test('rebuildFromRulesetDelta: the edits, applied to the base\'s lines, give the target; everything else is copied', () => {
  const line = fc.constantFrom('a', 'b', 'c', '', '  "198.18.0.1",', 'é');
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), fc.array(fc.tuple(fc.nat(40), fc.boolean(), line), { maxLength: 6 }), (base, ops) => {
      const t = [...base];
      for (const [at, del, l] of ops) {
        if (del && t.length > 1) t.splice(at % t.length, 1);
        else t.splice(at % (t.length + 1), 0, l);
      }
      const a = Buffer.from(base.join('\n'));
      const b = Buffer.from(t.join('\n'));
      const d = encodeRulesetDelta(a, b);
      if (d === undefined) return;
      const { bytes, edits } = rebuildFromRulesetDelta(a, d, 1 << 20);
      assert.deepEqual(bytes, b);
      assert.ok(edits);
      const out: string[] = [...base];
      let last = -1;
      for (const e of [...edits].reverse()) {
        assert.ok(last === -1 || e.line + e.deleted.length <= last, 'in base order, not overlapping');
        last = e.line;
        assert.deepEqual(out.slice(e.line, e.line + e.deleted.length), e.deleted);
        out.splice(e.line, e.deleted.length, ...e.inserted);
      }
      assert.deepEqual(out, t);
    }),
    { numRuns: 3000 },
  );
});

test('rebuildFromRulesetDelta: no edits described past EDIT_LINES_MAX removed lines (a rewrite)', () => {
  const base = Buffer.from(Array.from({ length: EDIT_LINES_MAX + 2 }, (_, i) => `l${i}`).join('\n'));
  const delta = Buffer.from(`nft-sync-delta 1\n- ${EDIT_LINES_MAX + 1}\n+ 1\nx\n= 1\n`);
  const r = rebuildFromRulesetDelta(base, delta, 1 << 20);
  assert.equal(r.bytes.toString(), `x\nl${EDIT_LINES_MAX + 1}`);
  assert.equal(r.edits, undefined);
});

/** The target `encode` was asked for, rebuilt from its delta; and the delta is under half the target. */
function roundTrip(a: Buffer, b: Buffer): Buffer | undefined {
  const d = encodeRulesetDelta(a, b);
  if (d === undefined) return undefined;
  assert.ok(d.length * 2 < b.length, `a delta of ${d.length} bytes for ${b.length}`);
  assert.ok(rebuildFromRulesetDelta(a, d, b.length).bytes.equals(b), 'the delta rebuilds the target');
  return d;
}

/** A seeded xorshift: replayable random numbers below `n`. */
function random(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

const blocklist = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `          "10.${((from + i) >> 16) & 255}.${((from + i) >> 8) & 255}.${(from + i) & 255}",`);

test('decode(encode(a, b)) is b for seeded random pairs: inserts, deletes, replacements, moves, duplicates, non-ASCII, CRLF, a last newline or not', () => {
  const pick = ['', 'a', 'b', 'a', '}', '  },', 'é日本', '"198.18.0.1",', 'x'.repeat(80), `${'x'.repeat(79)}y`, '\r', 'a\r'];
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.nat(400), fc.nat(12), fc.boolean(), fc.boolean(), (seed, size, changes, crlf, lastNewline) => {
      const r = random(seed);
      const base = Array.from({ length: size }, () => (r(3) === 0 ? pick[r(pick.length)]! : `line ${r(size + 1)}`));
      const t = [...base];
      for (let c = 0; c < changes; c++) {
        const at = r(t.length + 1);
        const len = 1 + r(r(4) === 0 ? 60 : 3);
        switch (r(5)) {
          case 0: // insert new lines
            t.splice(at, 0, ...Array.from({ length: len }, (_, k) => `new ${seed} ${c} ${k}`));
            break;
          case 1: // delete
            t.splice(at, len);
            break;
          case 2: // replace
            t.splice(at, len, ...Array.from({ length: 1 + r(3) }, (_, k) => `repl ${c} ${k} ü`));
            break;
          case 3: {
            // move a block
            const moved = t.splice(at, len);
            t.splice(r(t.length + 1), 0, ...moved);
            break;
          }
          default: // duplicate lines
            t.splice(r(t.length + 1), 0, ...t.slice(at, at + len));
        }
      }
      const text = (lines: string[]): Buffer => Buffer.from(lines.map((l) => (crlf ? `${l}\r` : l)).join('\n') + (lastNewline ? '\n' : ''));
      roundTrip(text(base), text(t));
      roundTrip(text(t), text(base));
    }),
    { numRuns: 1500, seed: 20261203 },
  );
});

test('a blocklist changed at random places, or with a block inserted or deleted, always gives a delta whose edits are the changed lines', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const r = random(seed);
    const base = blocklist(20_000);
    const t = [...base];
    const block = seed % 3 === 0 ? 0 : 300 + r(1000);
    if (seed % 3 === 1) t.splice(r(t.length), 0, ...blocklist(block, 1 << 20));
    if (seed % 3 === 2) t.splice(r(t.length - block), block);
    for (let k = 0; k < 100; k++) t.splice(r(t.length), 1);
    for (let k = 0; k < 100; k++) t.splice(r(t.length + 1), 0, ...blocklist(1, (2 << 20) + k));
    const a = Buffer.from(base.join('\n'));
    const b = Buffer.from(t.join('\n'));
    const d = roundTrip(a, b);
    assert.ok(d !== undefined, `seed ${seed}: a delta`);
    assert.ok(d.length < 200 * 40 + (seed % 3 === 1 ? block * 40 : 0), `seed ${seed}: ${d.length} bytes`);
    const { edits } = rebuildFromRulesetDelta(a, d, b.length);
    assert.ok(edits);
    // Each edit is one changed element, or the block (with the odd element next to it).
    for (const e of edits) assert.ok(e.deleted.length + e.inserted.length <= 3 || e.deleted.length + e.inserted.length >= block, `seed ${seed}: an edit of ${e.deleted.length}/${e.inserted.length} lines`);
    assert.ok(edits.length >= 150, `seed ${seed}: ${edits.length} edits`);
  }
});

test('a 1,000-line block inserted near the start of a 100,000-line blocklist, 1,000 lines deleted at random: a delta (the line-by-line walk found none)', () => {
  const r = random(7);
  const base = blocklist(100_000);
  const t = [...base];
  t.splice(10, 0, ...blocklist(1000, 1 << 20));
  for (let k = 0; k < 1000; k++) t.splice(2000 + r(t.length - 2000), 1);
  const a = Buffer.from(base.join('\n'));
  const b = Buffer.from(t.join('\n'));
  const d = roundTrip(a, b);
  assert.ok(d !== undefined && d.length < 1000 * 40 + 1000 * 10, `delta of ${d?.length} bytes`);
  const { edits } = rebuildFromRulesetDelta(a, d, b.length);
  assert.deepEqual(edits?.[0], { line: 10, deleted: [], inserted: blocklist(1000, 1 << 20) });
  // Then the deletions, each its own edit (or two or three that fell next to each other).
  assert.ok(edits!.length > 950);
  for (const e of edits!.slice(1)) assert.ok(e.inserted.length === 0 && e.deleted.length <= 3, JSON.stringify(e));
});

test('hostile pairs complete and are right: every line different, long lines, no newline, a 20 MB line, CRLF, empty, identical, prefixes', () => {
  const many = (n: number, tag: string): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `${tag}${i}`).join('\n'));
  const long = (n: number, tag: string): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `${'z'.repeat(5000)}${tag}${i}`).join('\n'));
  const big = Buffer.alloc(20 << 20, 0x61);
  const bigOther = Buffer.from(big);
  bigOther[10 << 20] = 0x62;
  const crlf = Buffer.from(blocklist(5000).join('\r\n'));
  const crlf2 = Buffer.from(blocklist(5000).filter((_, i) => i % 97 !== 3).join('\r\n'));
  const text = many(50_000, 'l');
  const cases: Array<[string, Buffer, Buffer, 'delta' | 'none' | 'any']> = [
    ['every line different', many(300_000, 'a'), many(300_000, 'b'), 'none'],
    ['every long line different', long(2000, 'a'), long(2000, 'b'), 'none'],
    ['no newline at all', Buffer.from('abc'.repeat(1000)), Buffer.from('abd'.repeat(1000)), 'none'],
    ['a 20 MB line changed in the middle', big, bigOther, 'none'],
    ['a 20 MB line, identical', big, Buffer.from(big), 'delta'],
    ['a 20 MB line against a short one', big, Buffer.from('a'), 'none'],
    ['CRLF lines, some deleted', crlf, crlf2, 'delta'],
    ['empty, empty', Buffer.alloc(0), Buffer.alloc(0), 'none'],
    ['empty base', Buffer.alloc(0), text, 'none'],
    ['empty target', text, Buffer.alloc(0), 'none'],
    ['newlines only', Buffer.alloc(100_000, 10), Buffer.alloc(90_000, 10), 'delta'],
    ['identical', text, Buffer.from(text), 'delta'],
    ['base a prefix of the target', text.subarray(0, text.length - 1000), text, 'delta'],
    ['target a prefix of the base', text, text.subarray(0, text.length - 1000), 'delta'],
    ['base a prefix ending mid-line', text.subarray(0, 1000), text, 'none'],
    ['target with its first half moved to the end', text, Buffer.concat([text.subarray(text.length >> 1), Buffer.from('\n'), text.subarray(0, text.length >> 1)]), 'any'],
  ];
  for (const [name, a, b, want] of cases) {
    const d = roundTrip(a, b);
    if (want !== 'any') assert.equal(d !== undefined, want === 'delta', name);
  }
});

test('no delta when either file is not UTF-8 (its inserted lines would not survive the decoder)', () => {
  // F0 90 80 41: a truncated 4-byte sequence, which decoding replaces by as many bytes (U+FFFD).
  const bad = Buffer.from([0x61, 0x0a, 0xf0, 0x90, 0x80, 0x41, 0x0a, 0x62]);
  const good = Buffer.from(`a\n${'x\n'.repeat(50)}b`);
  assert.equal(encodeRulesetDelta(good, Buffer.concat([good, Buffer.from('\n'), bad])), undefined);
  assert.equal(encodeRulesetDelta(bad, good), undefined);
  assert.ok(encodeRulesetDelta(good, Buffer.concat([good, Buffer.from('\nü')])) !== undefined);
});

test('a block of 2,000 lines moved from near the start to near the end of a 100,000-line blocklist: deleted there and inserted here, one edit each', () => {
  const base = blocklist(100_000);
  const t = [...base];
  const moved = t.splice(500, 2000);
  t.splice(90_000, 0, ...moved);
  const a = Buffer.from(base.join('\n'));
  const b = Buffer.from(t.join('\n'));
  const d = roundTrip(a, b);
  assert.ok(d !== undefined);
  const { edits } = rebuildFromRulesetDelta(a, d, b.length);
  assert.deepEqual(
    edits?.map((e) => [e.line, e.deleted.length, e.inserted.length]),
    [
      [500, 2000, 0],
      [92_000, 0, 2000],
    ],
  );
});

test('rebuildFromRulesetDelta writes the result into the memory alloc gives, of exactly its size', () => {
  const base = Buffer.from('a\nb\nc');
  const delta = Buffer.from('nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n');
  const block = Buffer.from(new SharedArrayBuffer(16));
  let asked = -1;
  const r = rebuildFromRulesetDelta(base, delta, 100, undefined, {
    alloc: (size) => {
      asked = size;
      return block.subarray(0, size);
    },
  });
  assert.equal(asked, 5);
  assert.equal(r.bytes.toString(), 'a\nx\nc');
  assert.equal(r.bytes.buffer, block.buffer, 'in the memory given');
  assert.throws(() => rebuildFromRulesetDelta(base, delta, 100, undefined, { alloc: () => Buffer.alloc(4) }), RangeError);
  assert.equal(r.lines?.length, 4, 'the line index by default');
  const bare = rebuildFromRulesetDelta(base, delta, 100, undefined, { lines: false });
  assert.equal(bare.lines, undefined, 'none when asked');
  assert.equal(bare.bytes.toString(), 'a\nx\nc');
});

test('rebuildFromRulesetDelta: a block of 200,000 inserted lines (an API change adding as many elements: maxPerChange is 1,000,000) is rebuilt, its edit described (review: a spread of the lines overflowed the stack, and the agent refused the delta)', () => {
  const lines = Array.from({ length: 200_000 }, (_, i) => `e${i}`);
  const r = rebuildFromRulesetDelta(Buffer.from('a\nb'), Buffer.from(`nft-sync-delta 1\n= 1\n+ ${lines.length}\n${lines.join('\n')}\n= 1\n`), 1 << 30);
  assert.equal(r.bytes.toString(), `a\n${lines.join('\n')}\nb`);
  assert.equal(r.edits?.[0]?.inserted.length, lines.length);
});

test('texts ending in pads of space lines (a big composed ruleset, shared/ruleset/text-pad.ts): the delta rebuilds the target, and no edit spans the text and the pad', () => {
  let cases = 0;
  fc.assert(
    fc.property(
      // No empty line before the pad (renderRuleset writes none): it would be the text's last, empty, line's twin.
      fc.array(fc.constantFrom('a', 'b', '}', '  "198.18.0.1",', ' '), { minLength: 1, maxLength: 30 }),
      fc.array(fc.tuple(fc.nat(30), fc.nat(3), fc.array(fc.constantFrom('x', 'b', '}', '  "198.18.0.9"'), { maxLength: 3 })), { maxLength: 3 }),
      fc.array(fc.nat(40), { maxLength: 8 }),
      fc.array(fc.nat(40), { maxLength: 8 }),
      (base, edits, padA, padB) => {
        const t: string[] = [...base];
        for (const [at, del, l] of edits) t.splice(Math.min(at, t.length), del, ...l);
        // Content whose last line holds something, then the pad's lines.
        // 300 lines alike first (the delta must be under half of the target).
        const common = Array.from({ length: 300 }, (_, i) => `line ${i}`);
        const text = (lines: string[], pad: number[]) => Buffer.from(`${[...common, ...lines, 'end'].join('\n')}\n${pad.map((n) => `${' '.repeat(n)}\n`).join('')}`);
        const a = text(base, padA);
        const b = text(t, padB);
        const d = encodeRulesetDelta(a, b);
        if (d === undefined) return;
        cases++;
        const r = rebuildFromRulesetDelta(a, d, 1 << 20);
        assert.equal(r.bytes.toString(), b.toString());
        const padFrom = common.length + base.length + 1;
        for (const e of r.edits ?? []) assert.ok(e.line >= padFrom || e.line + e.deleted.length <= padFrom, `an edit at ${e.line} (-${e.deleted.length}) spans the text and the pad (from ${padFrom})`);
      },
    ),
    { numRuns: 400, seed: 8 },
  );
  assert.ok(cases > 300, `${cases} deltas`);
});

test('encodeRulesetDelta: one text ending in 65,536 lines of spaces, the other in one more (past trailingSpaceLines\' limit): a delta of a few lines, as before the pad was walked apart (review: the text part inserted the 65,537 lines, and there was none)', () => {
  const body = `${Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n')}\n}\n`;
  const lines = (n: number): string => '\n'.repeat(n);
  for (const [na, nb] of [
    [65_536, 65_537],
    [65_537, 65_536],
  ] as const) {
    const a = Buffer.from(body + lines(na));
    const b = Buffer.from(body + lines(nb));
    const d = encodeRulesetDelta(a, b);
    assert.ok(d !== undefined && d.length < 100, `${na} -> ${nb}: ${d?.length} bytes`);
    assert.ok(rebuildFromRulesetDelta(a, d, 1 << 30).bytes.equals(b));
  }
});
