/**
 * earlyBatch: the element batch an agent may give nft before its plan is made is offered exactly
 * when the plan could not end the pass otherwise and would apply that batch: a delta against the
 * revision in force (same ruleset), its layout known, no dry run, nothing held from a publish, no
 * pending mark, no failed revision skipped, no drift, no table to create; and only for changes of
 * hash-set elements. Real rendered bytes and their delta; nothing is run (earlyBatch runs nothing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { earlyBatch } from '../../../../agent/reconcile/early-apply.js';
import { knowLayout } from '../../../../agent/reconcile/delta-hint.js';
import type { PassContext } from '../../../../agent/reconcile/reconcile-step.js';
import type { Verified } from '../../../../agent/reconcile/verify-step.js';
import type { AgentState } from '../../../../agent/state/state-store.js';
import type { NftRunner } from '../../../../host/nft-runner.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';

const addr = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;

/** A table `t` with a set `blk` of 200 addresses from `from` (`flags`: the set's), and a chain. */
function text(from: number, opts: { flags?: string[]; rule?: boolean } = {}): Buffer {
  const nftables: unknown[] = [
    { table: { family: 'inet', name: 't' } },
    { set: { family: 'inet', table: 't', name: 'blk', type: 'ipv4_addr', ...(opts.flags && { flags: opts.flags }), elem: Array.from({ length: 200 }, (_, i) => addr(from + i)) } },
    { chain: { family: 'inet', table: 't', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
  ];
  if (opts.rule) nftables.push({ rule: { family: 'inet', table: 't', chain: 'input', expr: [{ accept: null }] } });
  return Buffer.from(renderRuleset({ nftables }));
}

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const nft = {} as NftRunner; // earlyBatch runs nothing
const logger = pino({ level: 'silent' });

/** A pass context with `base` in force (layout known), the state `state`, and `over` on top. */
function context(base: Buffer, over: Partial<Omit<PassContext, 'state'>> & { st?: AgentState | undefined; check?: boolean } = {}): PassContext {
  const blob = gitBlobId(base);
  const inForce = { bytes: base, blob, ruleset: 'default', commit: C1, managedTables: [{ family: 'inet' as const, name: 't' }] };
  knowLayout(inForce); // as the agent does while idle (remembered for these very bytes)
  const state: AgentState | undefined = 'st' in over ? over.st : { ref: 'main', ruleset: 'default', commit: C1, blob, managedTables: [{ family: 'inet', name: 't' }] };
  return {
    opts: { agent: 'h1', ref: 'main', nft, stateDir: '/nonexistent', logger, ...(over.check && { check: true }) } as PassContext['opts'],
    state: () => state,
    inForce,
    drifted: over.drifted ?? false,
    retryFailed: over.retryFailed ?? false,
    ...(over.held && { held: over.held }),
    save: async () => undefined,
    stage: () => undefined,
    now: () => new Date(0).toISOString(),
  };
}

/** What the wire client makes of a delta from `base` to `target` (as fetch-answer.ts). */
function delta(base: Buffer, target: Buffer, over: { baseBlob?: string; ruleset?: string } = {}): Verified {
  const rebuilt = rebuildFromRulesetDelta(base, encodeRulesetDelta(base, target)!, 1 << 24);
  return { fetched: { kind: 'ruleset', ref: 'main', ruleset: over.ruleset ?? 'default', commit: C2, blob: gitBlobId(target), bytes: rebuilt.bytes, behind: false, delta: { base: over.baseBlob ?? gitBlobId(base), wireBytes: 1, edits: rebuilt.edits! } } };
}

test('an element-only change of a hash set against the revision in force: the batch deletes then adds those elements', () => {
  const base = text(0);
  const early = earlyBatch(context(base), delta(base, text(5)));
  assert.ok(early, 'a batch');
  assert.deepEqual(early.tables, [{ family: 'inet', name: 't' }]);
  assert.deepEqual(JSON.parse(early.batch), {
    nftables: [
      { delete: { element: { family: 'inet', table: 't', name: 'blk', elem: [0, 1, 2, 3, 4].map(addr) } } },
      { add: { element: { family: 'inet', table: 't', name: 'blk', elem: [200, 201, 202, 203, 204].map(addr) } } },
    ],
  });
});

test('no early batch where the pass must plan first', () => {
  const base = text(0);
  const ok = delta(base, text(5));
  const blob = gitBlobId(base);
  const state = (extra: Partial<AgentState>): AgentState => ({ ref: 'main', ruleset: 'default', commit: C1, blob, managedTables: [{ family: 'inet', name: 't' }], ...extra });
  const cases: Array<[string, PassContext, Verified]> = [
    ['a dry run asked for (--check)', context(base, { check: true }), ok],
    ['the live state a publish left is held', context(base, { held: { base: C1, commit: C2, tables: [], canon: '' } }), ok],
    ['a pending mark is left over', context(base, { st: state({ pending: { commit: C2, blob, ruleset: 'default', managedTables: [], startedAt: 'x' } }) }), ok],
    ['the revision failed before (not retried)', context(base, { st: state({ lastFailed: { commit: C2, blob: ok.fetched.blob, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no' } }) }), ok],
    ['a drift is outstanding', context(base, { drifted: true }), ok],
    ['no state', context(base, { st: undefined }), ok],
    ['a table the agent does not own yet (created by the apply)', context(base, { st: state({ managedTables: [] }) }), ok],
    ['a delta against another blob', context(base), delta(base, text(5), { baseBlob: 'a'.repeat(40) })],
    ['another ruleset', context(base), delta(base, text(5), { ruleset: 'other' })],
    ['a rule changed too', context(base), delta(base, text(5, { rule: true }))],
  ];
  for (const [why, ctx, verified] of cases) assert.equal(earlyBatch(ctx, verified), undefined, why);
  // A failed revision asked again (pull) goes early again.
  assert.ok(earlyBatch(context(base, { retryFailed: true, st: state({ lastFailed: { commit: C2, blob: ok.fetched.blob, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no' } }) }), ok));
  // An interval set: the plan chooses (its deletions cost by the set's size).
  const iv = text(0, { flags: ['interval'] });
  assert.equal(earlyBatch(context(iv), delta(iv, text(5, { flags: ['interval'] }))), undefined, 'an interval set');
  // Bytes whose layout is not known (not renderRuleset's text): nothing.
  const hand = Buffer.from(text(0).toString().replace(/\n {6}/g, '\n     '));
  const handCtx = context(hand);
  assert.equal(earlyBatch(handCtx, delta(hand, Buffer.from(text(5).toString().replace(/\n {6}/g, '\n     ')))), undefined, 'no layout');
});

test('attack6: bytes that came without a blob check pending are offered early only when they hash to the blob announced; with a check pending, that check decides later (plan-checked.ts)', () => {
  const base = text(0);
  const forged = delta(base, text(5));
  const announced = { ...forged.fetched, blob: gitBlobId(text(6)) };
  assert.equal(earlyBatch(context(base), { fetched: announced }), undefined, 'another blob, no check pending');
  assert.ok(earlyBatch(context(base), { fetched: { ...announced, blobCheck: async () => undefined } }), 'a check pending: the mark and nft wait for it');
});

test('attack6: earlyMayHaveChanged: only nft refusing the batch says the host did not change', async () => {
  const { earlyMayHaveChanged } = await import('../../../../agent/reconcile/early-apply.js');
  const { NftSyncError } = await import('../../../../shared/errors.js');
  const ended = (error: InstanceType<typeof NftSyncError> | undefined) => earlyMayHaveChanged({ batch: '{}', done: Promise.resolve(error) });
  assert.equal(await ended(undefined), true, 'committed');
  assert.equal(await ended(new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'killed')), true, 'unknown');
  assert.equal(await ended(new NftSyncError('NFTSYNC_ERR_NFT_EXEC', 'converted from an unknown error')), true, 'unknown');
  assert.equal(await ended(new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'refused')), false, 'refused: atomic, nothing changed');
});
