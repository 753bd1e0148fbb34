/** deltaHint: a hint only for a delta against the revision in force whose edits prove it; its plan equals the plan without it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaHint } from '../../../../agent/reconcile/delta-hint.js';
import { planMinimalTransaction } from '../../../../shared/ruleset/minimal-transaction.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

const OWNED: TableRef[] = [{ family: 'inet', name: 't' }];
const rs = (elem: string[]): Ruleset =>
  ({ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem } }] }) as Ruleset;
const addrs = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `198.18.${(from + i) >> 8}.${(from + i) & 255}`);

/** Revision `elem` as the server writes it, and as the agent rebuilds it from a delta against `base`. */
function fetched(base: Buffer, elem: string[]) {
  const target = Buffer.from(renderRuleset(rs(elem)));
  const { bytes, edits } = rebuildFromRulesetDelta(base, encodeRulesetDelta(base, target)!, 1 << 24);
  return { bytes, ruleset: parseRuleset(bytes), delta: { base: 'b'.repeat(40), ...(edits && { edits }) } };
}

test('a delta against the revision in force gives a hint, and the next delta against the new one too', () => {
  const e1 = addrs(0, 400);
  const b1 = Buffer.from(renderRuleset(rs(e1)));
  const base = { bytes: b1, blob: 'b'.repeat(40), ruleset: parseRuleset(b1) };
  const e2 = [...e1.slice(0, 100), ...addrs(1000, 3), ...e1.slice(101)];
  const t2 = fetched(b1, e2);
  const hint = deltaHint(base, t2);
  assert.ok(hint);
  const plan = planMinimalTransaction(base.ruleset, t2.ruleset, OWNED, hint);
  assert.equal(plan.hinted, true);
  assert.deepEqual(plan.summary, planMinimalTransaction(base.ruleset, t2.ruleset, OWNED).summary);
  const t3 = fetched(t2.bytes, e2.slice(1));
  assert.ok(deltaHint({ bytes: t2.bytes, blob: 'b'.repeat(40), ruleset: t2.ruleset }, t3));
});

test('no hint for a full fetch, a delta against another revision, or bytes not written one element a line', () => {
  const e1 = addrs(0, 400);
  const b1 = Buffer.from(renderRuleset(rs(e1)));
  const base = { bytes: b1, blob: 'b'.repeat(40), ruleset: parseRuleset(b1) };
  const t2 = fetched(b1, e1.slice(1));
  assert.equal(deltaHint(base, { ...t2, delta: undefined }), undefined);
  assert.equal(deltaHint({ ...base, blob: 'c'.repeat(40) }, t2), undefined);
  const compact = Buffer.from(JSON.stringify(rs(e1)));
  assert.equal(deltaHint({ ...base, bytes: compact }, t2), undefined);
});
