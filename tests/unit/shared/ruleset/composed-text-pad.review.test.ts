/**
 * Review: ComposedText against composeRulesetText for big bases (1 MiB or more: padded), over
 * random change sequences on several sets (adds, deletes, replacements with timeouts, re-adds,
 * maps, a change to a non-last set, deleting everything added), and bases that are a composed
 * text already (a fold's: rendered text and a pad) or rendered text with trailing whitespace of
 * another form. sharedHead's count is checked against the bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../../helpers/seeded-rng.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import type { SetAddress } from '../../../../shared/ruleset/element-change.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { padOf } from '../../../../shared/ruleset/text-pad.js';

const T = 'f';
const at = (name: string): SetAddress => ({ family: 'inet', table: T, name });
const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const NAMES = ['temp', 'bulk', 'verdicts', 'tail'] as const;

function base(r: () => number, bulk: number): string {
  return renderRuleset({
    nftables: [
      { table: { family: 'inet', name: T } },
      { set: { family: 'inet', table: T, name: 'temp', type: 'ipv4_addr', flags: ['timeout'], elem: Array.from({ length: 5 }, (_, i) => (r() < 0.5 ? ip(i) : { elem: { val: ip(i), timeout: 60 } })) } },
      { set: { family: 'inet', table: T, name: 'bulk', type: 'ipv4_addr', elem: Array.from({ length: bulk }, (_, i) => ip(i)) } },
      { map: { family: 'inet', table: T, name: 'verdicts', type: 'ipv4_addr', map: 'verdict', elem: Array.from({ length: 5 }, (_, i) => [ip(i), { accept: null }]) } },
      { set: { family: 'inet', table: T, name: 'tail', type: 'ipv4_addr', elem: [ip(1), ip(2)] } },
      { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    ],
  });
}

function value(r: () => number, name: string, i: number): unknown {
  if (name === 'temp') return r() < 0.4 ? ip(i) : { elem: { val: ip(i), timeout: 60 + Math.floor(r() * 3) } };
  if (name === 'verdicts') return [ip(i), r() < 0.5 ? { accept: null } : { drop: null }];
  return ip(i);
}
const key = (name: string, i: number): unknown => ip(i);

describe('ComposedText with a pad (review)', () => {
  for (const form of ['rendered', 'fold', 'fold+1', 'trailing-spaces', 'crlf-tail']) {
    it(`big base (${form}): text() is composeRulesetText byte for byte; sharedHead true`, () => {
      for (let seed = 1; seed <= 2; seed++) {
        const r = rng(seed * 104729 + form.length);
        const bulk = 48_000 + Math.floor(r() * 4000);
        let baseText: Buffer = Buffer.from(base(r, bulk));
        if (form === 'fold') baseText = Buffer.concat([baseText, padOf(1 + Math.floor(r() * 70000))]);
        if (form === 'fold+1') baseText = Buffer.concat([baseText, padOf(1 + Math.floor(r() * 70000)), Buffer.from(' ')]);
        if (form === 'trailing-spaces') baseText = Buffer.concat([baseText, Buffer.from('   \n  \n')]);
        if (form === 'crlf-tail') baseText = Buffer.concat([baseText, Buffer.from('\r\n')]);
        const texts: string[] = [];
        let composed = ComposedText.build(baseText, [])!;
        assert.ok(composed);
        const want = (): Buffer => {
          const w = composeRulesetText({ path: 'b', bytes: baseText }, texts.map((t, i) => ({ path: `c${i}`, bytes: t })));
          return typeof w === 'string' ? Buffer.from(w) : w;
        };
        if (form === 'fold') assert.ok(composed.text()!.equals(baseText), 'fold base: text() with no change is the base file');
        let previous: Buffer | undefined;
        const added: number[] = [];
        for (let step = 0; step < 10; step++) {
          const name = NAMES[Math.floor(r() * NAMES.length)]!;
          const big = r() < 0.2 ? 1500 : 4;
          const req = {
            add: Array.from({ length: 1 + Math.floor(r() * big) }, () => value(r, name, r() < 0.3 && added.length ? added[Math.floor(r() * added.length)]! : 60000 + Math.floor(r() * 200000))),
            delete: r() < 0.2 ? added.splice(0).map((i) => key(name, i)) : Array.from({ length: Math.floor(r() * 3) }, () => key(name, Math.floor(r() * bulk))),
          };
          let planned;
          try {
            planned = composed.plan(at(name), req);
          } catch {
            continue;
          }
          if (planned === undefined || (planned.added.length === 0 && planned.deleted.length === 0)) continue;
          for (const a of req.add) if (typeof a === 'string') added.push(Number(a.split('.').reduce((n, x) => n * 256 + Number(x), 0)) & 0xffffff);
          const text = renderChangeFile(at(name), planned.added, planned.deleted);
          assert.ok(composed.applyPlanned(planned));
          texts.push(text);
          const pieces = composed.pieces();
          if (pieces === undefined) break;
          const shared = previous === undefined ? 0 : composed.sharedHead(previous);
          const got = composed.text()!;
          const w = want();
          assert.equal(got.length, w.length, `seed ${seed} step ${step}: length`);
          assert.ok(got.equals(w), `seed ${seed} step ${step}: bytes`);
          if (previous !== undefined) assert.ok(previous.subarray(0, shared).equals(got.subarray(0, shared)), `sharedHead ${shared}`);
          previous = got;
          if (r() < 0.15) {
            const { state, transfer } = composed.state();
            composed = ComposedText.fromState(structuredClone(state, { transfer }));
            previous = undefined;
          }
        }
        // The fold: the text as the new base, no change: the base file itself; then one change.
        const folded = composed.text();
        if (folded === undefined) continue;
        const f = ComposedText.build(Buffer.from(folded), [])!;
        assert.ok(f.text()!.equals(folded), `seed ${seed}: a fold's base, no change: the base file`);
        const t2 = renderChangeFile(at('bulk'), [ip(250000)], []);
        assert.ok(f.apply(parseChangeFile(t2)));
        const w2 = composeRulesetText({ path: 'b', bytes: Buffer.from(folded) }, [{ path: 'c', bytes: t2 }]);
        assert.ok(f.text()!.equals(Buffer.from(w2)), `seed ${seed}: a change after the fold`);
      }
    });
  }
});
