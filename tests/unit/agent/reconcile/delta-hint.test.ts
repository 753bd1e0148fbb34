/**
 * deltaHint: a hint only for a delta against the revision in force whose edits prove it; its plan
 * equals the plan without it. verifyWithHint: the new ruleset built without parsing where that is
 * proven, the blob id checked either way. An element API change (new elements composed at the front
 * of the set) is hinted like any other once it comes as a delta. Padded revisions (the server's
 * pad of spaces after the text) are hinted as the same change unpadded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaHint, earlyElementBatch, knowLayout, layoutKnown, verifyWithHint } from '../../../../agent/reconcile/delta-hint.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { planMinimalTransaction } from '../../../../shared/ruleset/minimal-transaction.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { paddedTo } from '../../../helpers/padded-text.js';

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

test('verifyWithHint: string elements inserted, the new ruleset is built from the one in force (not parsed) and equals the parse', () => {
  const e1 = addrs(0, 400);
  const b1 = Buffer.from(renderRuleset(rs(e1)));
  const base = { bytes: b1, blob: 'b'.repeat(40), ruleset: parseRuleset(b1) };
  const t2 = fetched(b1, [...e1.slice(1, 200), ...addrs(2000, 5), ...e1.slice(200)]);
  const where = { ruleset: 'default', commit: 'c'.repeat(40) };
  const out = verifyWithHint(base, { ...t2, blob: gitBlobId(t2.bytes) }, where);
  assert.ok(out.hint);
  assert.equal(out.ruleset.nftables[0], base.ruleset.nftables[0], 'shared with the ruleset in force: not parsed');
  assert.deepEqual(out.ruleset, parseRuleset(t2.bytes));
  assert.throws(() => verifyWithHint(base, { ...fetched(b1, e1.slice(2)), blob: 'd'.repeat(40) }, where), (e: unknown) => e instanceof NftSyncError && e.code === 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH');
});

test('verifyWithHint: other elements inserted (a map\'s), the bytes are parsed and the hint found all the same', () => {
  const map = (keys: string[]): Buffer =>
    Buffer.from(renderRuleset({ nftables: [{ table: { family: 'inet', name: 't' } }, { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: keys.map((k) => [k, { accept: null }]) } }] }));
  const k1 = addrs(0, 300);
  const b1 = map(k1);
  const base = { bytes: b1, blob: 'b'.repeat(40), ruleset: parseRuleset(b1) };
  const b2 = map([...k1.slice(0, 10), '198.19.0.1', ...k1.slice(10)]);
  const { bytes, edits } = rebuildFromRulesetDelta(b1, encodeRulesetDelta(b1, b2)!, 1 << 24);
  const out = verifyWithHint(base, { bytes, blob: gitBlobId(bytes), delta: { base: base.blob, ...(edits && { edits }) } }, { ruleset: 'default', commit: 'c'.repeat(40) });
  assert.ok(out.hint);
  assert.notEqual(out.ruleset.nftables[0], base.ruleset.nftables[0], 'parsed');
  assert.deepEqual(out.ruleset, parseRuleset(bytes));
});

test('verifyWithHint: 1,000 elements added in one block and 200 deleted at random places (a delta since the encoder finds blocks): the hint, and the plan it gives is the plan from comparing', () => {
  const e1 = addrs(0, 20_000);
  const b1 = Buffer.from(renderRuleset(rs(e1)));
  const base = { bytes: b1, blob: 'b'.repeat(40), ruleset: parseRuleset(b1) };
  const e2 = [...e1.slice(0, 10), ...addrs(30_000, 1000), ...e1.slice(10).filter((_, i) => i % 97 !== 50)];
  const t2 = fetched(b1, e2);
  assert.ok(t2.delta.edits && t2.delta.edits.length > 150);
  const out = verifyWithHint(base, { ...t2, blob: gitBlobId(t2.bytes) }, { ruleset: 'default', commit: 'c'.repeat(40) });
  assert.ok(out.hint);
  const plan = planMinimalTransaction(base.ruleset, out.ruleset, OWNED, out.hint);
  assert.equal(plan.hinted, true);
  assert.deepEqual(plan.summary, planMinimalTransaction(base.ruleset, parseRuleset(t2.bytes), OWNED).summary);
});

/** An element API change (rulesets/NAME.elements/NNNNNN.json) to set inet t s of `base`, as the server serves it composed. */
function composed(base: Buffer, add: string[], del: string[]): Buffer {
  const change = JSON.stringify({ 'nft-sync-elements': 1, set: { family: 'inet', table: 't', name: 's' }, add, delete: del }, null, 2);
  const text = composeRulesetText({ path: 'rulesets/default.json', bytes: base }, [{ path: 'rulesets/default.elements/000001.json', bytes: change }]);
  return Buffer.isBuffer(text) ? text : Buffer.from(text);
}

test('an element API change as the server serves it (1,000 added at the front of the set, 300 deleted, the last one too) comes as a delta whose hint the agent takes', () => {
  const e1 = addrs(0, 20_000);
  const b1 = Buffer.from(renderRuleset(rs(e1)));
  const base = { bytes: b1, blob: gitBlobId(b1), ruleset: parseRuleset(b1) };
  const del = [...e1.filter((_, i) => i % 67 === 3).slice(0, 299), e1[e1.length - 1]!];
  const b2 = composed(b1, addrs(30_000, 1000), del);
  const delta = encodeRulesetDelta(b1, b2);
  assert.ok(delta, 'a delta, not the whole ruleset');
  const { bytes, edits } = rebuildFromRulesetDelta(b1, delta, 1 << 26);
  assert.ok(bytes.equals(b2));
  const out = verifyWithHint(base, { bytes, blob: gitBlobId(bytes), delta: { base: base.blob, ...(edits && { edits }) } }, { ruleset: 'default', commit: 'c'.repeat(40) });
  assert.ok(out.hint, 'hinted');
  assert.equal(out.ruleset.nftables[0], base.ruleset.nftables[0], 'built from the ruleset in force, not parsed');
  assert.deepEqual(out.ruleset, parseRuleset(b2));
  const plan = planMinimalTransaction(base.ruleset, out.ruleset, OWNED, out.hint);
  assert.equal(plan.hinted, true);
  assert.deepEqual(plan.summary, planMinimalTransaction(base.ruleset, out.ruleset, OWNED).summary);
});

test('knowLayout finds the layout of the revision in force once, while idle (0.5 s for 1,000,000 elements at the first delta after a full fetch); one a delta carried is not found again; bytes that do not verify are left alone', () => {
  const b1 = Buffer.from(renderRuleset(rs(addrs(0, 300))));
  const where = { ruleset: 'default', commit: 'c'.repeat(40) };
  assert.equal(knowLayout({ bytes: b1, blob: 'f'.repeat(40), ...where }), false, 'a wrong blob id: not verified, nothing found');
  const blob = gitBlobId(b1);
  assert.equal(knowLayout({ bytes: b1, blob, ...where }), true, 'found now');
  assert.equal(knowLayout({ bytes: b1, blob, ...where }), false, 'remembered');
  // The next revision came as a delta against it: its layout is carried, not found again.
  const t2 = fetched(b1, [...addrs(0, 300), ...addrs(900, 5)]);
  const target = { ...t2, delta: { ...t2.delta, base: blob }, blob: gitBlobId(t2.bytes) };
  const { hint } = verifyWithHint({ bytes: b1, blob, ruleset: parseRuleset(b1) }, target, where);
  assert.ok(hint);
  assert.equal(knowLayout({ bytes: t2.bytes, blob: target.blob, ...where }), false, 'carried by the hint');
});

test('padded revisions (renderRuleset\'s text, then lines of spaces keeping them at one size): the layout found and carried, the new ruleset built without parsing, the hint and early batch those of the same change unpadded', () => {
  const where = { ruleset: 'default', commit: 'c'.repeat(40) };
  const e1 = addrs(0, 2000);
  const SIZE = Buffer.byteLength(renderRuleset(rs(e1))) + 4097; // a pad of 4097 bytes: an empty line, then 4 of 1024
  const padded = (elem: string[]): Buffer => paddedTo(renderRuleset(rs(elem)), SIZE);
  /** Revision `elem`, padded, as rebuilt from a delta against `base`; and the hint of the same change unpadded. */
  const next = (base: Buffer, baseElem: string[], elem: string[]) => {
    const target = padded(elem);
    const { bytes, edits } = rebuildFromRulesetDelta(base, encodeRulesetDelta(base, target)!, 1 << 24);
    assert.ok(bytes.equals(target) && edits);
    const plainBase = Buffer.from(renderRuleset(rs(baseElem)));
    const plain = fetched(plainBase, elem);
    const plainHint = deltaHint({ bytes: plainBase, blob: 'b'.repeat(40), ruleset: parseRuleset(plainBase) }, plain);
    assert.ok(plainHint, 'the change unpadded is hinted');
    return { bytes, blob: gitBlobId(bytes), edits, plainHint };
  };
  const b1 = padded(e1);
  const blob1 = gitBlobId(b1);
  assert.equal(knowLayout({ bytes: b1, blob: blob1, ...where }), true);
  assert.ok(layoutKnown(b1));
  const base1 = { bytes: b1, blob: blob1, ruleset: parseRuleset(b1) };

  // Elements added and deleted in the middle: the pad shrinks by a line and its first line changes.
  const e2 = [...e1.slice(0, 500), ...addrs(5000, 60), ...e1.slice(500).filter((_, i) => i % 50 !== 7)];
  const t2 = next(b1, e1, e2);
  assert.ok(t2.edits.some((e) => e.deleted.some((l) => /^ *$/.test(l)) || e.inserted.some((l) => /^ *$/.test(l))), 'the delta edits the pad');
  const early = earlyElementBatch(base1, t2.edits, OWNED);
  const out2 = verifyWithHint(base1, { bytes: t2.bytes, blob: t2.blob, delta: { base: blob1, edits: t2.edits } }, where);
  assert.ok(out2.hint, 'hinted');
  assert.deepEqual(out2.hint.sets, t2.plainHint.sets, 'the hint of the change unpadded');
  assert.equal(out2.ruleset.nftables[0], base1.ruleset.nftables[0], 'built from the ruleset in force, not parsed');
  assert.deepEqual(out2.ruleset, parseRuleset(t2.bytes));
  const plan = planMinimalTransaction(base1.ruleset, out2.ruleset, OWNED, out2.hint);
  assert.equal(plan.hinted, true);
  assert.deepEqual(plan.summary, planMinimalTransaction(base1.ruleset, out2.ruleset, OWNED).summary);
  assert.ok(early, 'an early batch from the padded delta');
  assert.equal(JSON.stringify(early), JSON.stringify(plan.batch), 'the early batch is the hinted plan\'s');
  assert.ok(layoutKnown(t2.bytes), 'the layout carried to the new bytes');

  // Then elements added past the size: the pad disappears; the carried layout serves the delta.
  const e3 = [...addrs(9000, 300), ...e2];
  const t3 = next(t2.bytes, e2, e3);
  assert.equal(t3.bytes.length, Buffer.byteLength(renderRuleset(rs(e3))), 'no pad left');
  const hint3 = deltaHint({ bytes: t2.bytes, blob: t2.blob, ruleset: out2.ruleset }, { bytes: t3.bytes, ruleset: parseRuleset(t3.bytes), delta: { base: t2.blob, edits: t3.edits } });
  assert.ok(hint3, 'hinted from the carried layout');
  assert.deepEqual(hint3.sets, t3.plainHint.sets);
  assert.equal(knowLayout({ bytes: t3.bytes, blob: t3.blob, ...where }), false, 'carried by the hint, not found again');
});
