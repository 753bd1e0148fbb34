/**
 * The minimal transaction planned from a hint (the line edits of a ruleset delta: element-hint.ts)
 * is the one planned by comparing every element, over many pairs of revisions: hash and interval
 * sets, maps, concatenations, timeouts, duplicates, `element` items, rule and definition changes;
 * and over hostile deltas (random line edits of the base's bytes, anything that still parses),
 * which must give no hint or the same plan, never another one. The layout the hint carries to the
 * new bytes is the one found by rendering them afresh, and a ruleset built from the base's without
 * parsing (patchedRuleset, proven by elementHint) is exactly what parsing the new bytes gives.
 * Padded revisions (renderRuleset's text, then lines of spaces) give the same.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { elementHint, elementListChanges, patchedRuleset, type ElementHint } from '../../../../shared/ruleset/element-hint.js';
import { elementLayout, type ElementLayout } from '../../../../shared/ruleset/element-layout.js';
import { elementDeltaBatch, planMinimalTransaction, type MinimalTransaction } from '../../../../shared/ruleset/minimal-transaction.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { canonicalJson } from '../../../../shared/ruleset/table-index.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta, type LineEdit } from '../../../../shared/wire/ruleset-delta.js';
import { paddedTo, serverPad } from '../../../helpers/padded-text.js';

let patches = 0;
let earlyBatches = 0;
const OWNED: TableRef[] = [{ family: 'inet', name: 't' }];
const MORE_OWNED: TableRef[] = [...OWNED, { family: 'ip', name: 'gone' }];
const addr = (n: number): string => `198.18.${n >> 8}.${n & 255}`;

type Kind = 'hash' | 'interval' | 'map' | 'concat' | 'timeout';
const KINDS: Kind[] = ['hash', 'interval', 'map', 'concat', 'timeout'];

/** An element of a set of `kind` from a small pool (so duplicates and re-adds happen); `flip` writes a timeout element's keys the other way round. */
function element(kind: Kind, n: number, flip = false): unknown {
  switch (kind) {
    case 'hash':
      return addr(n);
    case 'interval':
      return n % 3 === 0 ? { prefix: { addr: `10.${n}.0.0`, len: 16 } } : addr(n);
    case 'map':
      return [addr(n), n % 2 ? { accept: null } : { drop: null }];
    case 'concat':
      return { concat: [addr(n), 1000 + (n % 4)] };
    case 'timeout':
      return flip ? { elem: { timeout: 30 + (n % 2), val: addr(n) } } : { elem: { val: addr(n), timeout: 30 + (n % 2) } };
  }
}

function setItem(kind: Kind, name: string, elem: unknown[]): Record<string, unknown> {
  const base = { family: 'inet', table: 't', name };
  if (kind === 'map') return { map: { ...base, type: 'ipv4_addr', map: 'verdict', elem } };
  if (kind === 'concat') return { set: { ...base, type: ['ipv4_addr', 'inet_service'], flags: ['interval'], elem } };
  if (kind === 'timeout') return { set: { ...base, type: 'ipv4_addr', flags: ['timeout'], elem } };
  return { set: { ...base, type: 'ipv4_addr', ...(kind === 'interval' ? { flags: ['interval'] } : {}), elem } };
}

interface Spec {
  sets: Array<{ kind: Kind; elem: number[] }>;
  extra: number[];
  policy: 'accept' | 'drop';
  verdict: 'drop' | 'accept';
}

function ruleset(s: Spec, flip: Set<number> = new Set()): Ruleset {
  const items: unknown[] = [{ table: { family: 'inet', name: 't' } }];
  s.sets.forEach((x, i) => items.push(setItem(x.kind, `s${i}`, x.elem.map((n) => element(x.kind, n, flip.has(n))))));
  if (s.extra.length > 0) items.push({ element: { family: 'inet', table: 't', name: 's0', elem: s.extra.map((n) => element(s.sets[0]!.kind, n)) } });
  items.push({ chain: { family: 'inet', table: 't', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: s.policy } });
  items.push({ rule: { family: 'inet', table: 't', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@s0' } }, { [s.verdict]: null }] } });
  return { nftables: items } as Ruleset;
}

const pool = fc.integer({ min: 0, max: 60 });
const spec: fc.Arbitrary<Spec> = fc.record({
  sets: fc.array(fc.record({ kind: fc.constantFrom(...KINDS), elem: fc.array(pool, { minLength: 0, maxLength: 30 }) }), { minLength: 1, maxLength: 3 }),
  extra: fc.oneof(fc.constant([] as number[]), fc.array(pool, { maxLength: 3 })),
  policy: fc.constantFrom('accept' as const),
  verdict: fc.constantFrom('drop' as const),
});

/** `arb` once in `n`, else null. */
function rarely<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/** A change of `s`: elements removed and inserted at random places; now and then a rule, a policy, a set's kind or a timeout element's key order too. */
function change(s: Spec): fc.Arbitrary<{ to: Spec; flip: Set<number> }> {
  const perSet = s.sets.map((x) => fc.record({ drop: fc.array(fc.nat(Math.max(0, x.elem.length - 1)), { maxLength: 5 }), put: fc.array(fc.tuple(fc.nat(x.elem.length), pool), { maxLength: 5 }), kind: rarely(fc.constantFrom(...KINDS), 12) }));
  return fc.tuple(fc.tuple(...perSet), rarely(fc.constantFrom('policy' as const, 'verdict' as const, 'extra' as const), 6), fc.array(pool, { maxLength: 3 })).map(([edits, other, flips]) => {
    const sets = s.sets.map((x, i) => {
      const e = edits[i]!;
      const gone = new Set(e.drop);
      const elem = x.elem.filter((_, k) => !gone.has(k));
      for (const [at, n] of e.put) elem.splice(Math.min(at, elem.length), 0, n);
      return { kind: e.kind ?? x.kind, elem };
    });
    return {
      to: { sets, extra: other === 'extra' ? [...s.extra, 59] : s.extra, policy: other === 'policy' ? 'drop' : s.policy, verdict: other === 'verdict' ? 'accept' : s.verdict },
      flip: new Set(flips),
    };
  });
}

/** A plan with the elements of each element command in a fixed order, and without the `hinted` mark. */
function normalised(p: MinimalTransaction): unknown {
  const nftables = p.batch.nftables.map((c) => {
    const [verb, body] = Object.entries(c)[0]!;
    const el = (body as Record<string, unknown>).element as { elem: unknown[] } | undefined;
    if (el === undefined) return c;
    return { [verb]: { element: { ...el, elem: el.elem.map(canonicalJson).sort() } } };
  });
  return { ...p, hinted: undefined, batch: { nftables } };
}

/**
 * The layout carried over is the new bytes' own; signatures, where it carries them, are theirs too
 * (it may carry none where the new list became all strings).
 */
function sameLayout(carried: ElementLayout, fresh: ElementLayout | undefined): void {
  assert.ok(fresh);
  const bare = (l: ElementLayout) => ({ ...l, lists: l.lists.map(({ signatures: _s, ...rest }) => rest) });
  assert.deepEqual(bare(carried), bare(fresh), 'the layout carried over is the new bytes\' own');
  carried.lists.forEach((l, i) => {
    if (l.signatures) assert.deepEqual(l.signatures, fresh.lists[i]!.signatures, 'signatures carried over');
  });
}

/**
 * Plan `a` → `b` (bytes) both ways. Returns whether a hint was found; asserts the plans agree
 * and that the layout carried over is the new bytes' own.
 */
function compare(a: Buffer, b: Buffer): boolean {
  const from = parseRuleset(a);
  const delta = encodeRulesetDelta(a, b);
  if (delta === undefined) return false;
  const rebuilt = rebuildFromRulesetDelta(a, delta, 1 << 24);
  assert.ok(rebuilt.bytes.equals(b));
  const layout = elementLayout(a, from);
  assert.ok(layout !== undefined, 'rendered bytes have a layout');
  // Built without parsing (string elements inserted) and proven: exactly what parsing gives.
  const patched = patchedRuleset(layout, from, rebuilt.edits ?? []);
  const provenPatch = patched !== undefined && elementHint(layout, from, patched, rebuilt.edits ?? []) !== undefined;
  let to: Ruleset;
  try {
    to = parseRuleset(b);
  } catch {
    assert.ok(!provenPatch, 'no ruleset is built for bytes that do not parse');
    return false; // the agent refuses bytes that do not parse before any plan
  }
  if (provenPatch) {
    patches++;
    assert.deepEqual(patched, to);
  }
  const h = elementHint(layout, from, to, rebuilt.edits ?? []);
  // The batch an agent may start before it builds the new ruleset: only where the hint is proven, and then the hinted plan's to the byte.
  const changes = elementListChanges(layout, from, rebuilt.edits ?? []);
  const early = changes && elementDeltaBatch(from, OWNED, changes);
  if (early !== undefined) {
    earlyBatches++;
    assert.ok(provenPatch && h !== undefined, 'an early batch only for a change the hint proves');
    assert.equal(JSON.stringify(early), JSON.stringify(planMinimalTransaction(from, to, OWNED, h.hint).batch), 'the early batch is the hinted plan\'s');
    // A table owned but not declared is deleted by the plan: no early batch then.
    assert.equal(elementDeltaBatch(from, MORE_OWNED, changes!), undefined);
  }
  if (h === undefined) return false;
  const plain = planMinimalTransaction(from, to, OWNED);
  const hinted = planMinimalTransaction(from, to, OWNED, h.hint);
  assert.equal(hinted.hinted, true);
  assert.deepEqual(normalised(hinted), normalised(plain));
  sameLayout(h.layout, elementLayout(b, to));
  return true;
}

test('over many revision pairs, the plan from the delta\'s hint is the plan from comparing every element', () => {
  let hints = 0;
  fc.assert(
    fc.property(spec.chain((s) => fc.tuple(fc.constant(s), change(s))), ([s, { to, flip }]) => {
      const a = Buffer.from(renderRuleset(ruleset(s)));
      const b = Buffer.from(renderRuleset(ruleset(to, flip)));
      if (compare(a, b)) hints++;
    }),
    { numRuns: 1500, seed: 10 },
  );
  assert.ok(hints > 500, `a hint was found in ${hints} of 1500 pairs`);
  assert.ok(patches > 100, `the new ruleset was built without parsing in ${patches} of 1500 pairs`);
});

/** The delta's line edits from `a` to `b` and the hint they give (undefined: no delta, or no hint); `padFrom`: where `a`'s pad starts. */
function hintOf(a: Buffer, b: Buffer): { edits: LineEdit[]; padFrom: number; hint: ElementHint | undefined } | undefined {
  const delta = encodeRulesetDelta(a, b);
  if (delta === undefined) return undefined;
  const from = parseRuleset(a);
  const edits = rebuildFromRulesetDelta(a, delta, 1 << 24).edits ?? [];
  const layout = elementLayout(a, from)!;
  return { edits, padFrom: layout.padFrom, hint: elementHint(layout, from, parseRuleset(b), edits)?.hint };
}

test('padded revisions (the server\'s pad of spaces keeping them at one size, a pad appearing or disappearing, any lines of spaces): the plan from the delta\'s hint is the plan from comparing, and where the delta edits the text as it does unpadded, the hint is the unpadded one', () => {
  let same = 0;
  let hinted = 0;
  let otherEdits = 0;
  const anyPad = fc.array(fc.oneof(fc.nat(3), fc.constantFrom(1023, 3000)), { maxLength: 5 }).map((ls) => ls.map((n) => `${' '.repeat(n)}\n`).join(''));
  const pads = fc.oneof(
    fc.record({ kind: fc.constant('size' as const), extra: fc.nat(4000) }),
    fc.record({ kind: fc.constantFrom('appears' as const, 'disappears' as const), extra: fc.nat(4000) }),
    fc.record({ kind: fc.constant('any' as const), a: anyPad, b: anyPad }),
  );
  fc.assert(
    fc.property(spec.chain((s) => fc.tuple(fc.constant(s), change(s))), pads, ([s, { to, flip }], pad) => {
      const ta = renderRuleset(ruleset(s));
      const tb = renderRuleset(ruleset(to, flip));
      let a: Buffer;
      let b: Buffer;
      if (pad.kind === 'any') [a, b] = [Buffer.from(ta + pad.a), Buffer.from(tb + pad.b)];
      else {
        const size = Math.max(ta.length, tb.length) + pad.extra;
        a = pad.kind === 'appears' ? Buffer.from(ta) : paddedTo(ta, size);
        b = pad.kind === 'disappears' ? Buffer.from(tb) : paddedTo(tb, size);
      }
      compare(a, b);
      const padded = hintOf(a, b);
      const plain = hintOf(Buffer.from(ta), Buffer.from(tb));
      if (padded === undefined || plain === undefined) return;
      // The encoder may edit the text otherwise beside a pad (its look-ahead pairs equal pad
      // lines, and an edit may then reach both the text and the pad): no hint is owed then.
      const textEdits = padded.edits.filter((e) => e.line < padded.padFrom);
      if (JSON.stringify(textEdits) !== JSON.stringify(plain.edits)) {
        otherEdits++;
        return;
      }
      same++;
      assert.deepEqual(padded.hint?.sets, plain.hint?.sets, 'the hint of the same change unpadded');
      if (padded.hint) hinted++;
    }),
    { numRuns: 1500, seed: 13 },
  );
  assert.ok(same > 1000 && hinted > 400 && otherEdits < 300, `the text edited as unpadded in ${same} pairs (${hinted} hinted), otherwise in ${otherEdits}`);
});

test('over many changes of hash sets, an early batch is found where the plan is element deletes and adds, and it is that plan\'s', () => {
  earlyBatches = 0;
  let hints = 0;
  const hashSpec: fc.Arbitrary<Spec> = fc.record({
    sets: fc.array(fc.record({ kind: fc.oneof({ weight: 6, arbitrary: fc.constant('hash' as const) }, { weight: 1, arbitrary: fc.constantFrom(...KINDS) }), elem: fc.array(pool, { minLength: 1, maxLength: 40 }) }), { minLength: 1, maxLength: 3 }),
    extra: fc.oneof({ weight: 8, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(pool, { maxLength: 3 }) }),
    policy: fc.constant('accept' as const),
    verdict: fc.constant('drop' as const),
  });
  fc.assert(
    fc.property(hashSpec.chain((s) => fc.tuple(fc.constant(s), change(s))), ([s, { to, flip }]) => {
      if (compare(Buffer.from(renderRuleset(ruleset(s))), Buffer.from(renderRuleset(ruleset(to, flip))))) hints++;
    }),
    { numRuns: 1500, seed: 12 },
  );
  assert.ok(earlyBatches > 300, `an early batch was found in ${earlyBatches} of 1500 pairs (${hints} hinted)`);
  assert.ok(hints - earlyBatches > 100, `a hint without an early batch (refills, other kinds, nothing changed) in ${hints - earlyBatches} pairs`);
});

test('hostile deltas (random line edits of the base, whatever still parses) give no hint or the same plan', () => {
  const garbage = fc.oneof(
    pool.map((n) => `        "${addr(n)}",`),
    pool.map((n) => `        "${addr(n)}"`),
    pool.map((n) => `        "${addr(n)}" ,`),
    pool.map((n) => `      "${addr(n)}",`),
    pool.map((n) => `        ${JSON.stringify(element('timeout', n, true))},`),
    pool.map((n) => `        ["${addr(n)}",{"accept":null}],`),
    fc.constantFrom('        ]', '      ],', '        ],', '      ]', '      "elem": [', '        "x": 1,', '        {', '        },', '', '        "198.18.0.1", "198.18.0.2",'),
  );
  let parsed = 0;
  fc.assert(
    fc.property(spec, fc.array(fc.tuple(fc.nat(), fc.boolean(), garbage, fc.boolean()), { minLength: 1, maxLength: 4 }), (s, edits) => {
      const a = Buffer.from(renderRuleset(ruleset(s)));
      const lines = a.toString().split('\n');
      for (const [at, del, line, copy] of edits) {
        const i = at % lines.length;
        if (del) lines.splice(i, 1);
        else lines.splice(i, 0, copy ? lines[(at * 7) % lines.length]! : line);
      }
      const b = Buffer.from(lines.join('\n'));
      try {
        parseRuleset(b);
        parsed++;
      } catch {
        return;
      }
      compare(a, b);
    }),
    { numRuns: 3000, seed: 11 },
  );
  assert.ok(parsed > 100, `${parsed} hostile deltas parsed`);
});

test('hostile deltas against a padded base (random line edits of the text and its pad, lines of spaces or not, whatever still parses) give no hint or the same plan', () => {
  const garbage = fc.oneof(
    pool.map((n) => `        "${addr(n)}",`),
    pool.map((n) => `        "${addr(n)}"`),
    fc.constantFrom('', ' ', ' '.repeat(1023), ' '.repeat(200), '\t', ' x', '}', '  }', '{}', '0', '        ]', '      ],'),
  );
  let parsed = 0;
  fc.assert(
    fc.property(spec, fc.nat(3000), fc.array(fc.tuple(fc.nat(), fc.boolean(), garbage, fc.boolean()), { minLength: 1, maxLength: 4 }), (s, pad, edits) => {
      const a = Buffer.from(renderRuleset(ruleset(s)) + serverPad(pad));
      const lines = a.toString().split('\n');
      const text = lines.length - serverPad(pad).split('\n').length; // lines before the pad: edits go near and in it half the time
      for (const [at, del, line, copy] of edits) {
        const i = at % 2 ? text + (at % (lines.length - text)) : at % lines.length;
        if (del) lines.splice(Math.min(i, lines.length - 1), 1);
        else lines.splice(i, 0, copy ? lines[(at * 7) % lines.length]! : line);
      }
      const b = Buffer.from(lines.join('\n'));
      try {
        parseRuleset(b);
        parsed++;
      } catch {
        return;
      }
      compare(a, b);
    }),
    { numRuns: 3000, seed: 14 },
  );
  assert.ok(parsed > 300, `${parsed} hostile deltas parsed`);
});

test('a blocklist change of 1,000 elements on 100,000 is planned from the hint, as by comparing', () => {
  const s: Spec = { sets: [{ kind: 'hash', elem: [] }], extra: [], policy: 'accept', verdict: 'drop' };
  const big = (elem: string[]): Ruleset => ({ nftables: ruleset(s).nftables.map((i) => ('set' in i ? { set: { ...i.set, elem } } : i)) }) as Ruleset;
  const before = Array.from({ length: 100_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  const after = before.filter((_, i) => i % 200 !== 7);
  for (let k = 0; k < 500; k++) after.splice((k * 7919) % after.length, 0, `11.0.${k >> 8}.${k & 255}`);
  assert.ok(compare(Buffer.from(renderRuleset(big(before))), Buffer.from(renderRuleset(big(after)))), 'a hint was found');
});

test('with two tables, an early batch is the plan\'s, and none where the plan replaces one table (its patch costs more) but not the other', () => {
  const two = (small: string[]): Ruleset =>
    ({
      nftables: [
        { table: { family: 'inet', name: 't' } },
        { set: { family: 'inet', table: 't', name: 'few', type: 'ipv4_addr', elem: small } },
        { table: { family: 'inet', name: 'u' } },
        { set: { family: 'inet', table: 'u', name: 'many', type: 'ipv4_addr', elem: Array.from({ length: 10_000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`) } },
      ],
    }) as Ruleset;
  const owned: TableRef[] = [{ family: 'inet', name: 't' }, { family: 'inet', name: 'u' }];
  const before = Array.from({ length: 100 }, (_, i) => addr(i));
  const batchOf = (after: string[]): { early: unknown; plan: MinimalTransaction } => {
    const a = Buffer.from(renderRuleset(two(before)));
    const b = Buffer.from(renderRuleset(two(after)));
    const from = parseRuleset(a);
    const to = parseRuleset(b);
    const rebuilt = rebuildFromRulesetDelta(a, encodeRulesetDelta(a, b)!, 1 << 24);
    const layout = elementLayout(a, from)!;
    const hint = elementHint(layout, from, to, rebuilt.edits!)!;
    const changes = elementListChanges(layout, from, rebuilt.edits!)!;
    return { early: elementDeltaBatch(from, owned, changes), plan: planMinimalTransaction(from, to, owned, hint.hint) };
  };
  // 5 of 100 replaced: both tables stay, table t is patched.
  const small = batchOf([...before.slice(5), ...Array.from({ length: 5 }, (_, i) => addr(200 + i))]);
  assert.deepEqual(small.plan.summary.tablesPatched, ['inet t']);
  assert.equal(JSON.stringify(small.early), JSON.stringify(small.plan.batch));
  // 40 of 100 replaced: patching t costs more than loading it, so the plan replaces t alone.
  const big = batchOf([...before.slice(40), ...Array.from({ length: 40 }, (_, i) => addr(200 + i))]);
  assert.deepEqual(big.plan.summary.tablesReplaced, ['inet t']);
  assert.equal(big.plan.kind, 'delta');
  assert.equal(big.early, undefined);
});

test('attack6: over hostile pushes (up to three tables, a table owned but not declared, strings with JSON escapes, unicode, NUL or spaces, timeout objects and numbers among the elements, maps, auto-merge, interval and timeout flags), an early batch is always the hinted plan\'s', () => {
  const odd = ['198.18.0.1', 'é', '\u2028', 'a"b', 'a\\b', '\u0000', '\ud834\udd1e', 'x/y', '198.18.0.1 ', ''];
  const elemArb = fc.oneof(
    { weight: 6, arbitrary: fc.nat(40).map((n) => `198.18.0.${n}`) },
    { weight: 1, arbitrary: fc.constantFrom(...odd) },
    { weight: 1, arbitrary: fc.nat(40).map((n) => ({ elem: { val: `198.18.0.${n}`, timeout: 30 } })) },
    { weight: 1, arbitrary: fc.nat(5) },
  );
  const setArb = fc.record({ table: fc.nat(2), flags: fc.constantFrom(undefined, ['timeout'], ['interval'], ['dynamic']), auto: fc.boolean(), elem: fc.array(elemArb, { minLength: 1, maxLength: 25 }), map: fc.boolean() });
  type OddSet = { table: number; flags: readonly string[] | undefined; auto: boolean; elem: unknown[]; map: boolean };
  const names = ['t', 'u', 'v'];
  const build = (sets: OddSet[], tables: number): Ruleset => {
    const items: unknown[] = names.slice(0, tables).map((name) => ({ table: { family: 'inet', name } }));
    sets.forEach((s, i) => {
      const table = names[s.table % tables]!;
      if (s.map) items.push({ map: { family: 'inet', table, name: `s${i}`, type: 'ipv4_addr', map: 'verdict', elem: s.elem.map((e) => [e, { accept: null }]) } });
      else items.push({ set: { family: 'inet', table, name: `s${i}`, type: 'ipv4_addr', ...(s.flags && { flags: s.flags }), ...(s.auto && { 'auto-merge': true }), elem: s.elem } });
    });
    return { nftables: items } as Ruleset;
  };
  let early = 0;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.array(setArb, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(3), fc.nat(30), fc.boolean(), elemArb), { maxLength: 8 }), fc.boolean(), (tables, sets, edits, extraOwned) => {
      const after = sets.map((s) => ({ ...s, elem: [...s.elem] }));
      for (const [si, at, del, e] of edits) {
        const s = after[si % after.length]!;
        if (del && s.elem.length > 1) s.elem.splice(at % s.elem.length, 1);
        else s.elem.splice(at % (s.elem.length + 1), 0, e);
      }
      const a = Buffer.from(renderRuleset(build(sets, tables)));
      const b = Buffer.from(renderRuleset(build(after, tables)));
      const delta = encodeRulesetDelta(a, b);
      if (delta === undefined) return;
      const from = parseRuleset(a);
      const to = parseRuleset(b);
      const edits2 = rebuildFromRulesetDelta(a, delta, 1 << 24).edits ?? [];
      const layout = elementLayout(a, from)!;
      const owned: TableRef[] = [...names.slice(0, tables).map((name) => ({ family: 'inet' as const, name })), ...(extraOwned ? [{ family: 'ip' as const, name: 'gone' }] : [])];
      const changes = elementListChanges(layout, from, edits2);
      const batch = changes && elementDeltaBatch(from, owned, changes);
      if (batch === undefined) return;
      early++;
      const h = elementHint(layout, from, to, edits2);
      assert.ok(h, 'an early batch only where the hint is proven');
      const plan = planMinimalTransaction(from, to, owned, h.hint);
      assert.equal(plan.kind, 'delta');
      assert.equal(JSON.stringify(batch), JSON.stringify(plan.batch));
    }),
    { numRuns: 3000, seed: 61 },
  );
  assert.ok(early > 30, `an early batch in ${early} of 3000 pushes`);
});
