/** The apply step with a fake nft: the pending mark before the transaction, and what a refusal or a timeout leaves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyStep } from '../../../../agent/reconcile/apply-step.js';
import type { Plan } from '../../../../agent/reconcile/plan-step.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { verifyWithHint } from '../../../../agent/reconcile/delta-hint.js';
import { DEFAULT_BYTES, fetchedRuleset, testPass } from '../../../helpers/pass-context.js';

const C1 = '1'.repeat(40);
const table = { family: 'inet' as const, name: 'nft_sync' };
const plan: Plan = { fetched: fetchedRuleset(C1), ruleset: parseRuleset(DEFAULT_BYTES), owned: [], newTables: [table] };

// DEFAULT_BYTES with one more rule in its output chain: from DEFAULT_BYTES, a delta.
const V3 = Buffer.from(JSON.stringify({ nftables: [...(JSON.parse(DEFAULT_BYTES.toString()) as { nftables: unknown[] }).nftables, { rule: { family: 'inet', table: 'nft_sync', chain: 'output', expr: [{ accept: null }] } }] }));
const C3 = '3'.repeat(40);
const inForce = { bytes: DEFAULT_BYTES, blob: gitBlobId(DEFAULT_BYTES), ruleset: 'default', commit: C1, managedTables: [table] };
const planV3 = (extra: Partial<Plan> = {}): Plan => ({ fetched: fetchedRuleset(C3, V3), ruleset: parseRuleset(V3), owned: [table], newTables: [table], ...extra });

test('fake nft: the pending mark is saved before the transaction, the new bytes staged, then the transaction commits', async () => {
  const pass = testPass();
  let markedBeforeApply = false;
  const applyJson = pass.nft.applyJson;
  let stagedBeforeApply: string[] = [];
  pass.nft.applyJson = async (json) => ((markedBeforeApply = pass.state()?.pending?.commit === C1), (stagedBeforeApply = [...pass.staged]), applyJson(json));
  const out = await applyStep(pass, plan);
  assert.equal(out.kind, 'next');
  assert.ok(markedBeforeApply);
  assert.deepEqual(stagedBeforeApply, [plan.fetched.blob], 'the bytes are being written while nft runs');
  assert.equal(pass.saves[0]!.applied, undefined, 'the pending mark carries no bytes');
  assert.equal(pass.saves[0]!.durable, false, 'nor waits for its rename to reach the disk (a power loss empties the kernel\'s ruleset too)');
  assert.deepEqual(pass.saves[0]!.state.pending, { commit: C1, blob: plan.fetched.blob, ruleset: 'default', managedTables: [table], startedAt: '2026-01-01T00:00:00.000Z' });
  assert.deepEqual([...pass.nft.tables.keys()], ['inet nft_sync']);
});

test('fake nft: a refusal takes the mark back and records the attempt; a timeout leaves the mark (the transaction may have committed)', async () => {
  const refused = testPass();
  refused.nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'no');
  const out = await applyStep(refused, plan);
  assert.equal(out.kind === 'end' && out.end.record?.state.pending, undefined);
  assert.equal(out.kind === 'end' && out.end.record?.state.lastFailed?.code, 'NFTSYNC_ERR_NFT_APPLY');
  const slow = testPass();
  slow.nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'killed');
  const timedOut = await applyStep(slow, plan);
  assert.equal(timedOut.kind === 'end' && timedOut.end.record, undefined, 'nothing recorded over the mark');
  assert.equal(slow.state()?.pending?.commit, C1);
});

test('fake nft: from the confirmed revision in force a delta; with a drift outstanding or a pending mark left over, the full replacement', async () => {
  const kindOf = async (pass: ReturnType<typeof testPass>, p: Plan): Promise<string> => {
    await pass.nft.applyJson(JSON.stringify({ nftables: [{ add: { table } }] }));
    const out = await applyStep(pass, p);
    return out.kind === 'next' ? out.value.transaction.transaction.kind : 'ended';
  };
  assert.equal(await kindOf(testPass({}, undefined, { inForce }), planV3()), 'delta');
  assert.equal(await kindOf(testPass({}, undefined, { inForce, drifted: true }), planV3()), 'full');
  const leftover = { commit: '4'.repeat(40), blob: 'b'.repeat(40), ruleset: 'default', managedTables: [table], startedAt: 't' };
  assert.equal(await kindOf(testPass({}, undefined, { inForce }), planV3({ priorPending: leftover })), 'full');
  assert.equal(await kindOf(testPass(), planV3()), 'full', 'no revision in force');
});

test('fake nft: a revision the host holds already (this agent published it) runs no nft; one that differs is applied', async () => {
  const held = { canon: JSON.stringify(normaliseRuleset(parseRuleset(V3), [table])), tables: [table], base: C1, commit: C3 };
  const pass = { ...testPass({}, undefined, { inForce }), held };
  let loads = 0;
  const applyJson = pass.nft.applyJson;
  pass.nft.applyJson = async (json) => ((loads += 1), applyJson(json));
  const out = await applyStep(pass, planV3());
  assert.equal(out.kind, 'next');
  assert.equal(loads, 0);
  assert.equal(out.kind === 'next' && out.value.transaction.transaction.kind, 'delta');
  assert.match(out.kind === 'next' ? out.value.transaction.transaction.reason : '', /holds this revision already/);
  assert.equal(pass.saves[0]!.state.pending?.commit, C3, 'the pending mark all the same');
  const other = { ...testPass({}, undefined, { inForce }), held: { ...held, canon: JSON.stringify(normaliseRuleset(parseRuleset(DEFAULT_BYTES), [table])) } };
  await other.nft.applyJson(JSON.stringify({ nftables: [{ add: { table } }] }));
  let otherLoads = 0;
  const otherApply = other.nft.applyJson;
  other.nft.applyJson = async (json) => ((otherLoads += 1), otherApply(json));
  await applyStep(other, planV3());
  assert.equal(otherLoads, 1);
});

test('fake nft: after a delta fetch against the revision in force, the element changes come from the plan\'s hint', async () => {
  const rs = (elem: string[]): Buffer => Buffer.from(renderRuleset({ nftables: [{ table }, { set: { ...table, table: table.name, name: 'blk', type: 'ipv4_addr', elem } }] }));
  const addrs = Array.from({ length: 100 }, (_, i) => `198.18.0.${i}`);
  const b1 = rs(addrs);
  const b2 = rs([...addrs.slice(0, 50), '198.18.1.1', ...addrs.slice(51)]);
  const { bytes, edits } = rebuildFromRulesetDelta(b1, encodeRulesetDelta(b1, b2)!, 1 << 20);
  const base = { bytes: b1, blob: gitBlobId(b1), ruleset: 'default', commit: C1, managedTables: [table] };
  const fetched = fetchedRuleset(C3, bytes, { delta: { base: base.blob, wireBytes: 1, ...(edits && { edits }) } });
  const { ruleset, hint } = verifyWithHint({ bytes: b1, blob: base.blob, ruleset: parseRuleset(b1) }, fetched, { ruleset: 'default', commit: C3 });
  assert.ok(hint);
  const viaDelta: Plan = { fetched, ruleset, owned: [table], newTables: [table], hint };
  const choice = async (p: Plan) => {
    const pass = testPass({}, undefined, { inForce: base });
    await pass.nft.applyJson(JSON.stringify({ nftables: [{ add: { table } }] }));
    const out = await applyStep(pass, p);
    return out.kind === 'next' ? out.value.transaction.transaction : undefined;
  };
  const hinted = await choice(viaDelta);
  assert.equal(hinted?.kind, 'delta');
  assert.equal(hinted?.hinted, true);
  const { hint: _h, ...plain } = viaDelta;
  assert.deepEqual(await choice(plain), { kind: 'delta', reason: hinted?.reason });
});

test('fake nft (attack6): an early element batch that was not the plan\'s and committed, then a full replacement nft refused, leaves the pending mark (the host may hold part of the revision); one nft refused itself does not', async () => {
  const mark = { commit: C3, blob: planV3().fetched.blob, ruleset: 'default', managedTables: [table], startedAt: '2026-01-01T00:00:00.000Z' };
  const run = async (done: NftSyncError | undefined) => {
    // As markEarly left it: the revision in force, and this attempt marked pending.
    const pass = testPass({}, { ref: 'main', ruleset: 'default', commit: C1, blob: inForce.blob, managedTables: [table], pending: mark }, { inForce });
    await pass.nft.applyJson(JSON.stringify({ nftables: [{ add: { table } }] }));
    pass.nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'the full replacement refused');
    // Not the plan's batch (which adds a rule): the full replacement must follow, and nft refuses it.
    const early = { batch: JSON.stringify({ nftables: [{ add: { element: { family: 'inet', table: 'nft_sync', name: 'blk', elem: ['198.18.0.99'] } } }] }), done: Promise.resolve(done) };
    const out = await applyStep(pass, planV3({ early }));
    assert.equal(out.kind, 'end');
    return out.kind === 'end' ? out.end : undefined;
  };
  const committed = await run(undefined);
  assert.equal(committed?.outcome.kind === 'failed' && committed.outcome.error.code, 'NFTSYNC_ERR_NFT_APPLY');
  assert.deepEqual(committed?.record?.state.pending, mark, 'the early batch committed: the mark stays, so the next pass replaces whole and a restart restores over it');
  const refused = await run(new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'the early batch refused'));
  assert.equal(refused?.record?.state.pending, undefined, 'nothing changed on the host: the mark goes');
});
