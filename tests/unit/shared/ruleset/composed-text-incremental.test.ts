/**
 * Review: the added region kept incrementally as chunks (SetTable.added, take(),
 * addedChunks) against composeRulesetText, over random sequences that skip text() (and pieces())
 * on some steps, mix apply() with applyPlanned(), raw change files with duplicates (an element
 * added twice, deleted and re-added in one file, deleted while absent), re-adds of net-added
 * elements (another timeout / value), moves to another thread (state/fromState), texts adopted
 * via joined(), and checks sharedHead's claim (the head it counts is really equal).
 * Bounded: 150 seeds x 30 steps on sets of at most 40 elements.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinPieces } from '../../../../shared/bytes/join-pieces.js';
import { sharedBuffer } from '../../../../shared/bytes/spare-buffer.js';
import { rng } from '../../../helpers/seeded-rng.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import type { SetAddress } from '../../../../shared/ruleset/element-change.js';
import { parseChangeFile, renderChangeFile, type ElementChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const T = 'f';
const at = (name: string): SetAddress => ({ family: 'inet', table: T, name });
const ip = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;
const NAMES = ['block', 'temp', 'verdicts', 'pairs'] as const;

function base(r: () => number, size: number): string {
  const pick = (n: number) => Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.6);
  const nonEmpty = (xs: number[]) => (xs.length > 0 ? xs : [0]);
  return renderRuleset({
    nftables: [
      { table: { family: 'inet', name: T } },
      { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', elem: nonEmpty(pick(size)).map(ip) } },
      { set: { family: 'inet', table: T, name: 'temp', type: 'ipv4_addr', flags: ['timeout'], elem: nonEmpty(pick(size)).map((i) => (r() < 0.5 ? ip(i) : { elem: { val: ip(i), timeout: 60 + (i % 3) } })) } },
      { map: { family: 'inet', table: T, name: 'verdicts', type: 'ipv4_addr', map: 'verdict', elem: nonEmpty(pick(size)).map((i) => [ip(i), r() < 0.5 ? { accept: null } : { drop: null }]) } },
      { set: { family: 'inet', table: T, name: 'pairs', type: ['ipv4_addr', 'inet_service'], elem: nonEmpty(pick(size)).map((i) => ({ concat: [ip(i), 1000 + i] })) } },
      { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    ],
  });
}

function value(r: () => number, name: string, i: number): unknown {
  switch (name) {
    case 'temp':
      return r() < 0.4 ? ip(i) : { elem: { val: ip(i), timeout: 60 + Math.floor(r() * 3) } };
    case 'verdicts':
      return [ip(i), r() < 0.5 ? { accept: null } : { drop: null }];
    case 'pairs':
      return { concat: [ip(i), 1000 + i] };
    default:
      return ip(i);
  }
}
const key = (name: string, i: number): unknown => (name === 'verdicts' ? ip(i) : name === 'pairs' ? { concat: [ip(i), 1000 + i] } : ip(i));

/** A raw change file (as a pusher may store one): duplicates, a delete and an add of one id, absent ids. */
function rawFile(r: () => number, name: string, size: number): ElementChangeFile {
  const ids = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * size * 2));
  const add = ids().map((i) => value(r, name, i));
  if (r() < 0.3 && add.length > 0) add.push(add[0]); // the same element twice
  if (r() < 0.3) add.push(value(r, name, Math.floor(r() * size * 2))); // possibly re-added with another value
  const del = ids().map((i) => key(name, i));
  return parseChangeFile(renderChangeFile(at(name), add, del));
}

describe('ComposedText: the incremental added region (review)', () => {
  it('random sequences skipping text(), mixing apply/applyPlanned, moves and joined(): always composeRulesetText byte for byte; sharedHead never counts bytes that differ', () => {
    let compared = 0;
    let headsChecked = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed * 7919);
      const size = 3 + Math.floor(r() * 38);
      const baseText = base(r, size);
      const texts: string[] = [];
      let composed = ComposedText.build(baseText, [])!;
      assert.ok(composed, `seed ${seed}: followed`);
      let previous: Buffer | undefined;
      const want = (): string => String(composeRulesetText({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t }))));
      const check = (got: Buffer | undefined, step: number, how: string): boolean => {
        if (got === undefined) return false;
        assert.equal(got.toString(), want(), `seed ${seed} step ${step} (${how})`);
        compared++;
        return true;
      };
      for (let step = 0; step < 30; step++) {
        const name = NAMES[Math.floor(r() * NAMES.length)]!;
        let file: ElementChangeFile | undefined;
        let applied = false;
        if (r() < 0.5) {
          // As the element API: plan, then the plan's own words (or its change file, one time in four).
          const req = { add: Array.from({ length: 1 + Math.floor(r() * 4) }, () => value(r, name, Math.floor(r() * size * 2))), delete: Array.from({ length: Math.floor(r() * 3) }, () => key(name, Math.floor(r() * size * 2))) };
          let planned;
          try {
            planned = composed.plan(at(name), req);
          } catch {
            continue; // an element the set refuses (a delete and an add of one id, ...)
          }
          if (planned === undefined || (planned.added.length === 0 && planned.deleted.length === 0)) continue;
          const text = renderChangeFile(at(name), planned.added, planned.deleted);
          file = parseChangeFile(text);
          applied = r() < 0.75 ? composed.applyPlanned(planned) : composed.apply(file);
          assert.ok(applied);
          texts.push(text);
        } else {
          file = rawFile(r, name, size);
          const text = renderChangeFile(at(name), file.add, file.delete);
          // Only what composing whole accepts.
          try {
            composeRulesetText({ path: 'b', bytes: baseText }, [...texts, text].map((t, i) => ({ path: `c${i}`, bytes: t })));
          } catch {
            continue;
          }
          if (!composed.apply(file)) continue;
          texts.push(text);
        }
        const action = r();
        if (action < 0.3) {
          const got = composed.text();
          if (got === undefined) {
            composed = ComposedText.build(baseText, texts.map((t) => parseChangeFile(t)))!;
            if (composed === undefined) break;
            previous = undefined;
            continue;
          }
          check(got, step, 'text');
        } else if (action < 0.45) {
          composed.pieces(); // pieces only: the pending lines become a chunk, no text joined
        } else if (action < 0.6) {
          // Joined elsewhere (as the worker does) into shared memory, and adopted.
          const pieces = composed.pieces();
          if (pieces === undefined) continue;
          const into = sharedBuffer(pieces.reduce((n, p) => n + p.length, 0));
          joinPieces(pieces, { alloc: () => into });
          if (previous !== undefined) {
            const n = composed.sharedHead(previous);
            if (n > 0) {
              headsChecked++;
              assert.ok(n <= previous.length && n <= into.length, `seed ${seed} step ${step}: sharedHead ${n} within both`);
              assert.ok(previous.subarray(0, n).equals(into.subarray(0, n)), `seed ${seed} step ${step}: sharedHead ${n} bytes really equal`);
            }
          }
          assert.equal(composed.joined(pieces, into), true);
          check(composed.text(() => assert.fail('adopted: nothing joined')), step, 'joined');
          previous = into;
          continue;
        } else if (action < 0.7) {
          // Moved to another thread and back (the original is unusable: its buffers were transferred).
          const { state, transfer } = composed.state();
          composed = ComposedText.fromState(structuredClone(state, { transfer }));
          previous = undefined;
          continue;
        } // else: nothing (the next change finds its pending lines still pending)
        if (action < 0.3) {
          const now = composed.text()!;
          if (previous !== undefined) {
            const n = composed.sharedHead(previous);
            if (n > 0) {
              headsChecked++;
              assert.ok(n <= previous.length && n <= now.length && previous.subarray(0, n).equals(now.subarray(0, n)), `seed ${seed} step ${step}: sharedHead ${n}`);
            }
          }
          previous = now;
        }
      }
      // Whatever was skipped, the text at the end is the text.
      if (texts.length > 0) check(composed.text(), 99, 'end');
      if (texts.length > 0) assert.equal(ComposedText.build(baseText, texts.map((t) => parseChangeFile(t)))?.text()?.toString(), want(), `seed ${seed}: rebuilt`);
    }
    assert.ok(compared > 1000, `${compared} texts compared`);
    assert.ok(headsChecked > 50, `${headsChecked} shared tails checked`);
  });

  it('a net-added element re-added many times without a text in between, then deleted, then re-added: the chunk list never diverges, and stays short', () => {
    const baseText = base(rng(5), 10);
    const composed = ComposedText.build(baseText, [])!;
    const texts: string[] = [];
    const change = (name: string, add: unknown[], del: unknown[]): void => {
      const text = renderChangeFile(at(name), add, del);
      texts.push(text);
      assert.ok(composed.apply(parseChangeFile(text)));
    };
    const want = (): string => String(composeRulesetText({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t }))));
    for (let i = 0; i < 40; i++) {
      change('temp', [{ elem: { val: ip(900 + (i % 5)), timeout: 60 + (i % 3) } }, ip(1000 + i)], i % 7 === 0 ? [ip(1000 + i - 1)] : []);
      if (i % 3 === 0) composed.pieces();
      if (i % 5 === 0) assert.equal(composed.text()!.toString(), want(), `change ${i}`);
    }
    assert.equal(composed.text()!.toString(), want());
    const pieces = composed.pieces()!;
    assert.ok(pieces.length < 200, `${pieces.length} pieces`);
  });
});
