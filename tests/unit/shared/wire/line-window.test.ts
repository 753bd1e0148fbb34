/** LineWindow: the lines ahead of a position, as split('\n') gives them, kept while the position moves forward. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineWindow } from '../../../../shared/wire/line-window.js';

const line = fc.oneof(fc.constantFrom('', 'a', 'b', 'é', '\r', 'x'.repeat(70), `${'x'.repeat(69)}y`), fc.string({ maxLength: 100 }).map((s) => s.replace(/\n/g, '')));

test('LineWindow: at(d) is the line d ahead of the position; sameLine is equality of the lines', () => {
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(3), { maxLength: 20 }), (lines, moves) => {
      const buf = Buffer.from(lines.join('\n'));
      const other = new LineWindow(Buffer.from(lines.join('\n')), 8);
      const w = new LineWindow(buf, 8);
      const starts: number[] = [];
      for (let i = 0, p = 0; i < lines.length; p += Buffer.byteLength(lines[i]!) + 1, i++) starts.push(p);
      let i = 0;
      for (const m of [0, ...moves]) {
        i = Math.min(lines.length - 1, i + m);
        w.moveTo(starts[i]!);
        for (let d = 0; d < 8; d++) {
          const s = w.at(d);
          if (i + d >= lines.length) {
            assert.equal(s, -1);
            continue;
          }
          assert.equal(buf.toString('utf8', w.start(s), w.end(s)), lines[i + d]);
          other.moveTo(0);
          for (let k = 0; k < Math.min(8, lines.length); k++) assert.equal(w.sameLine(s, other, other.at(k)), lines[i + d] === lines[k]);
        }
      }
    }),
    { numRuns: 500 },
  );
});

test('LineWindow: a 20 MB line without a newline is one line, found without a byte loop over it', () => {
  const w = new LineWindow(Buffer.alloc(20 << 20, 0x61), 4);
  const s = w.at(0);
  assert.equal(w.end(s), 20 << 20);
  assert.equal(w.at(1), -1);
});
