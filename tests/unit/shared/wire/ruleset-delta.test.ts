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
