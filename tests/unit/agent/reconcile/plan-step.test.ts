/** The plan step with a fake nft: known failures skipped, owned tables worked out, foreign tables refused before any change. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planStep, unionTables } from '../../../../agent/reconcile/plan-step.js';
import { fetchedRuleset, testPass } from '../../../helpers/pass-context.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

const C1 = '1'.repeat(40);
const t = (name: string) => ({ family: 'inet' as const, name });

test('a blob that failed before is skipped, unless the pass retries failures', async () => {
  const fetched = fetchedRuleset(C1);
  const state = { ref: 'main', ruleset: 'default', managedTables: [], lastFailed: { commit: C1, blob: fetched.blob, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no', at: 't' } };
  const skipped = await planStep(testPass({}, state), { fetched });
  assert.equal(skipped.kind === 'end' && skipped.end.outcome.kind, 'skipped');
  assert.equal((await planStep(testPass({}, state, { retryFailed: true }), { fetched })).kind, 'next');
});

test('a pending mark left over: its tables are owned by this apply and named by the next mark', async () => {
  const pending = { commit: C1, blob: 'b'.repeat(40), ruleset: 'default', managedTables: [t('left_over')], startedAt: 't' };
  const state = { ref: 'main', ruleset: 'default', managedTables: [t('nft_sync')], pending };
  const out = await planStep(testPass({}, state), { fetched: fetchedRuleset(C1) });
  assert.equal(out.kind, 'next');
  if (out.kind !== 'next') return;
  assert.deepEqual(out.value.owned, [t('nft_sync'), t('left_over')]);
  assert.deepEqual(out.value.newTables, [t('nft_sync'), t('left_over')]);
  assert.deepEqual(out.value.priorPending, pending);
});

test('fake nft: a declared table someone else created is refused before any change, not recorded against the revision', async () => {
  const pass = testPass();
  pass.nft.tables.set('inet nft_sync', []);
  const out = await planStep(pass, { fetched: fetchedRuleset(C1) });
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_TABLE_NOT_OWNED');
  assert.equal(out.kind === 'end' && out.end.record?.state.lastFailed, undefined);
  assert.equal(pass.nft.applied.length, 0);
});

test('bytes that are not a ruleset are refused and recorded as failed', async () => {
  const out = await planStep(testPass(), { fetched: fetchedRuleset(C1, Buffer.from('{"nftables": 1}')) });
  assert.equal(out.kind === 'end' && out.end.outcome.kind === 'failed' && out.end.outcome.error.code, 'NFTSYNC_ERR_RULESET_SCHEMA');
  assert.equal(out.kind === 'end' && out.end.record?.state.lastFailed?.commit, C1);
});

test('unionTables keeps the order of the first list and adds what the second has more', () => {
  assert.deepEqual(unionTables([t('a'), t('b')], [t('b'), t('c')]), [t('a'), t('b'), t('c')]);
});

test('a delta fetch against the revision in force: the plan carries the hint, and its ruleset is what parsing gives', async () => {
  const rs = (elem: string[]): Buffer => Buffer.from(renderRuleset({ nftables: [{ table: t('nft_sync') }, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] }));
  const addrs = Array.from({ length: 100 }, (_, i) => `198.18.0.${i}`);
  const b1 = rs(addrs);
  const { bytes, edits } = rebuildFromRulesetDelta(b1, encodeRulesetDelta(b1, rs(addrs.slice(1)))!, 1 << 20);
  const inForce = { bytes: b1, blob: gitBlobId(b1), ruleset: 'default', commit: C1, managedTables: [t('nft_sync')] };
  const state = { ref: 'main', ruleset: 'default', commit: C1, blob: inForce.blob, managedTables: [t('nft_sync')] };
  const fetched = fetchedRuleset('2'.repeat(40), bytes, { delta: { base: inForce.blob, wireBytes: 1, ...(edits && { edits }) } });
  const out = await planStep(testPass({}, state, { inForce }), { fetched });
  assert.equal(out.kind, 'next');
  if (out.kind !== 'next') return;
  assert.deepEqual([...(out.value.hint?.sets ?? [])].map(([k, e]) => [k, e.deleted, e.added]), [[1, [0], []]]);
  assert.deepEqual(out.value.ruleset, parseRuleset(bytes));
  const whole = await planStep(testPass({}, state, { inForce }), { fetched: fetchedRuleset('2'.repeat(40), bytes) });
  assert.equal(whole.kind === 'next' && whole.value.hint, undefined, 'no hint for a full fetch');
});
