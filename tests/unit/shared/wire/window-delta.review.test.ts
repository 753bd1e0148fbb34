/**
 * Review: windowDelta over random texts with pads (any lines of spaces, none, the server's),
 * knownPrefix and targetFrom: whatever it returns rebuilds the target exactly
 * (rebuildFromRulesetDelta) and counts its lines right.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../../helpers/seeded-rng.js';
import { windowDelta } from '../../../../shared/wire/window-delta.js';
import { rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { padOf } from '../../../../shared/ruleset/text-pad.js';

const MAX = 1 << 30;
const count = (b: Buffer): number => { let n = 1; for (const c of b) if (c === 10) n++; return n; };
function commonPrefix(a: Buffer, b: Buffer): number { let n = 0; while (n < a.length && n < b.length && a[n] === b[n]) n++; return n; }

function pad(r: () => number): Buffer {
  const x = r();
  if (x < 0.2) return Buffer.alloc(0);
  if (x < 0.6) return Buffer.from(padOf(1 + Math.floor(r() * 5000)));
  // any lines of spaces (some empty)
  const lines = Array.from({ length: 1 + Math.floor(r() * 5) }, () => ' '.repeat(Math.floor(r() * (r() < 0.3 ? 0 : 40))));
  return Buffer.from(lines.map((l) => `${l}\n`).join(''));
}

describe('windowDelta (review, random)', () => {
  it('rebuilds the target exactly with the right line count, with pads, knownPrefix and targetFrom', () => {
    let taken = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= 6000 && failures.length < 5; seed++) {
      const r = rng(seed);
      const word = (): string => (r() < 0.1 ? ' '.repeat(1 + Math.floor(r() * 3)) : r() < 0.05 ? '' : `l${Math.floor(r() * 8)}`);
      const n = Math.floor(r() * 12);
      const lines = Array.from({ length: n }, word);
      if (r() < 0.7) lines.unshift('x'.repeat(3000));
      if (r() < 0.3) lines.push('y'.repeat(3000));
      const endNl = r() < 0.8;
      let content = lines.join('\n') + (endNl && n > 0 ? '\n' : '');
      const at = Math.floor(r() * (lines.length + 1));
      const del = Math.min(lines.length - at, Math.floor(r() * 3));
      const ins = Array.from({ length: Math.floor(r() * 3) }, word);
      const t = [...lines.slice(0, at), ...ins, ...lines.slice(at + del)];
      let tcontent = t.join('\n') + (endNl && t.length > 0 ? '\n' : '');
      if (r() < 0.1) { content = content.replace(/\n$/, ''); }
      if (r() < 0.1) { tcontent = tcontent.replace(/\n$/, ''); }
      const pb = pad(r);
      const pt = r() < 0.3 ? pb : pad(r);
      const base = Buffer.concat([Buffer.from(content), pb]);
      const target = Buffer.concat([Buffer.from(tcontent), pt]);
      const real = commonPrefix(base, target);
      const known = Math.floor(r() * (real + 1));
      let from = 0;
      if (r() < 0.5 && known > 0) from = base.lastIndexOf(10, known - 1) + 1;
      else if (r() < 0.2) from = Math.floor(r() * (known + 1));
      const opts = {
        ...(r() < 0.5 && { baseLines: count(base) }),
        knownPrefix: known,
        ...(from > 0 && { targetFrom: from }),
        pads: { base: pb.length, target: pt.length },
      };
      const w = windowDelta(base, target.subarray(from), { added: ins.length + Math.floor(r() * 2), deleted: del + Math.floor(r() * 2) }, opts);
      if (w === undefined) continue;
      taken++;
      let got: Buffer;
      try {
        got = rebuildFromRulesetDelta(base, w.delta, MAX).bytes;
      } catch (err) {
        failures.push(`seed ${seed}: ${(err as Error).message} base=${JSON.stringify(base.toString())} target=${JSON.stringify(target.toString())} opts=${JSON.stringify(opts)} delta=${JSON.stringify(w.delta.toString())}`);
        continue;
      }
      if (!got.equals(target) || w.lines !== count(target)) failures.push(`seed ${seed}: lines ${w.lines} vs ${count(target)} equal=${got.equals(target)} base=${JSON.stringify(base.toString())} target=${JSON.stringify(target.toString())} opts=${JSON.stringify(opts)} delta=${JSON.stringify(w.delta.toString())}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(taken > 1000, `${taken}`);
  });
});
