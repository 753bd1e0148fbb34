import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trailingSpaceLines } from '../../../../shared/bytes/trailing-space-lines.js';

const at = (text: string, maxLines?: number): number => trailingSpaceLines(Buffer.from(text), maxLines);

describe('trailingSpaceLines', () => {
  it('finds where the trailing lines of spaces (or empty lines) start: after a line holding something else', () => {
    assert.equal(at('{\n}\n   \n \n'), 4);
    assert.equal(at('{\n}\n\n\n'), 4);
    assert.equal(at('{\n}\n' + ' '.repeat(10_000) + '\n'), 4, 'a line longer than the comparison chunk');
    assert.equal(at('a\n  b  \n  \n'), 8, 'a line with spaces around something is not a pad line');
  });

  it('none: no such lines, no final newline, nothing but such lines, or more than maxLines of them', () => {
    assert.equal(at('{\n}\n'), 4);
    assert.equal(at('{\n}\n   '), 7);
    assert.equal(at('   \n  \n'), 7);
    assert.equal(at(''), 0);
    assert.equal(at('x\n' + '\n'.repeat(10), 5), 12, 'past maxLines: taken as no pad');
    assert.equal(at('x\n' + '\n'.repeat(10), 10), 2);
    assert.equal(at('x\n\t\n'), 4, 'a tab is not a space');
  });
});
