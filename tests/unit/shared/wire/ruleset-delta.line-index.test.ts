/**
 * The line index the agent carries from one rebuilt revision to the next (lineIndex, and the
 * `lines` of rebuildFromRulesetDelta): it says where every line starts, a rebuild given the base's
 * index gives exactly what one without it gives, and its own index is the result's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NftSyncError } from '../../../../shared/errors.js';
import { encodeRulesetDelta, lineIndex, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

/** Where each line starts, by splitting, and one past the end. */
function byHand(bytes: Buffer): number[] {
  const out = [0];
  bytes.forEach((b, i) => {
    if (b === 10) out.push(i + 1);
  });
  return [...out, bytes.length + 1];
}

test('lineIndex: where each line starts, then the length plus one', () => {
  for (const text of ['', 'a', 'a\n', '\n\n', 'é\nß\n\nx', '{\n  "a": 1\n}\n']) {
    const bytes = Buffer.from(text);
    assert.deepEqual([...lineIndex(bytes)], byHand(bytes), JSON.stringify(text));
  }
  const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => `l${i}`).join('\n'));
  assert.deepEqual([...lineIndex(big)], byHand(big), 'grown past its first guess');
});

test('rebuild with the base\'s index = rebuild without it, and its `lines` index the result, revision after revision', () => {
  const line = fc.constantFrom('a', 'b', 'c', '', '  "198.18.0.1",', 'é');
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), fc.array(fc.array(fc.tuple(fc.nat(40), fc.boolean(), line), { maxLength: 6 }), { minLength: 1, maxLength: 4 }), (first, steps) => {
      let lines = [...first];
      let bytes = Buffer.from(lines.join('\n'));
      let index: Uint32Array | undefined;
      for (const ops of steps) {
        const next = [...lines];
        for (const [at, del, l] of ops) {
          if (del && next.length > 1) next.splice(at % next.length, 1);
          else next.splice(at % (next.length + 1), 0, l);
        }
        const target = Buffer.from(next.join('\n'));
        const d = encodeRulesetDelta(bytes, target);
        if (d === undefined) return;
        const plain = rebuildFromRulesetDelta(bytes, d, 1 << 20);
        const indexed = rebuildFromRulesetDelta(bytes, d, 1 << 20, index);
        assert.deepEqual(indexed.bytes, target);
        assert.deepEqual(plain.bytes, target);
        assert.deepEqual(indexed.edits, plain.edits);
        assert.deepEqual([...indexed.lines!], byHand(target));
        [lines, bytes, index] = [next, target, indexed.lines!];
      }
    }),
    { numRuns: 2000 },
  );
});

test('an index that does not end at the base\'s length is ignored; a delta that does not fit is refused with an index as without', () => {
  const base = Buffer.from('a\nb\nc');
  const stale = lineIndex(Buffer.from('a\nb'));
  assert.deepEqual(rebuildFromRulesetDelta(base, Buffer.from('nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n'), 50, stale).bytes, Buffer.from('a\nx\nc'));
  for (const delta of ['nft-sync-delta 1\n= 2\n', 'nft-sync-delta 1\n= 4\n', 'nft-sync-delta 1\n- 2\n= 2\n']) {
    assert.throws(() => rebuildFromRulesetDelta(base, Buffer.from(delta), 50, lineIndex(base)), (e: unknown) => e instanceof NftSyncError && e.code === 'NFTSYNC_ERR_MSG_INVALID', delta);
  }
});
