/**
 * planChecked: bytes rebuilt from a delta whose blob id is computed while the plan is made
 * (FetchResult.blobCheck) go no further than the plan unless the check passes; bytes of another
 * blob are never applied nor recorded against the revision: the whole ruleset fetched instead is.
 * Fake fetcher and fake nft, a real state directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Reconciler } from '../../../../agent/reconcile/reconciler.js';
import type { FetchResult, RevisionFetcher } from '../../../../agent/reconcile/revision-fetcher.js';
import { loadState } from '../../../../agent/state/state-store.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { fakeNft, type FakeNft } from '../../../helpers/fake-nft-runner.js';

const V1 = readFileSync('repo-template/rulesets/default.json');
const V2 = Buffer.from(JSON.stringify({ nftables: [...(JSON.parse(V1.toString()) as { nftables: unknown[] }).nftables, { table: { family: 'ip', name: 'nft_sync_v2' } }] }, null, 2));
const C2 = '2'.repeat(40);
const quiet = pino({ level: 'silent' });

/** A delta-rebuilt answer for commit C2 announcing V2's blob, with `bytes` and a blobCheck giving `check`. */
function checked(bytes: Buffer, check: () => Promise<FetchResult | undefined>, calls: { n: number }): FetchResult {
  const blobCheck = (): Promise<FetchResult | undefined> => {
    calls.n++;
    return check();
  };
  return { kind: 'ruleset', ref: 'main', ruleset: 'default', commit: C2, blob: gitBlobId(V2), bytes, behind: false, delta: { base: 'b'.repeat(40), wireBytes: 10 }, blobCheck };
}
const whole = (): FetchResult => ({ kind: 'ruleset', ref: 'main', ruleset: 'default', commit: C2, blob: gitBlobId(V2), bytes: Buffer.from(V2), behind: false, deltaRefused: 'the bytes rebuilt do not hash to blob' });

function setup(t: TestContext): { nft: FakeNft; dir: string; open: () => Promise<Reconciler> } {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-plan-checked-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nft = fakeNft();
  return { nft, dir, open: () => Reconciler.open({ agent: 'h1', ref: 'main', nft, stateDir: dir, logger: quiet }) };
}
const once = (answer: FetchResult): RevisionFetcher => ({ fetch: async () => answer });

test('blobCheck passes: the bytes planned meanwhile are applied and recorded', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  const calls = { n: 0 };
  const out = await r.reconcile(once(checked(Buffer.from(V2), async () => undefined, calls)));
  assert.equal(out.kind, 'applied');
  assert.equal(calls.n, 1, 'the check was awaited');
  assert.equal(nft.applied.length, 1);
  assert.equal((await loadState(dir))!.state.blob, gitBlobId(V2));
});

test('security: bytes of another blob (valid ruleset) are never applied: the whole ruleset fetched instead is', async (t) => {
  const { nft, open } = setup(t);
  const r = await open();
  let applyBeforeCheck = false;
  let settled = false;
  const out = await r.reconcile(
    once(
      checked(
        Buffer.from(V1),
        async () => {
          applyBeforeCheck = nft.applied.length > 0;
          settled = true;
          return whole();
        },
        { n: 0 },
      ),
    ),
  );
  assert.equal(out.kind, 'applied', out.kind === 'failed' ? out.error.message : '');
  assert.ok(settled && !applyBeforeCheck, 'nothing reached nft before the check');
  assert.equal(nft.applied.length, 1);
  assert.match(JSON.stringify(nft.applied[0]), /nft_sync_v2/, 'the whole ruleset (V2) was applied, not the rebuilt V1');
});

test('bytes of another blob that do not even parse are not recorded as failed: the whole ruleset is applied', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  const out = await r.reconcile(once(checked(Buffer.from('{ not json'), async () => whole(), { n: 0 })));
  assert.equal(out.kind, 'applied', out.kind === 'failed' ? out.error.message : '');
  assert.equal(nft.applied.length, 1);
  assert.equal((await loadState(dir))!.state.lastFailed, undefined);
});

test('the second fetch fails: the pass fails, nothing applied, nothing recorded', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  const out = await r.reconcile(
    once(
      checked(
        Buffer.from(V1),
        async () => {
          throw new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'gone');
        },
        { n: 0 },
      ),
    ),
  );
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_CONN_CLOSED');
  assert.equal(nft.applied.length, 0);
  assert.equal(await loadState(dir), undefined);
});

test('security (attack6): an element-only delta that came without a blobCheck and does not hash to the announced blob never reaches nft nor the state directory early: the plan refuses it', async (t) => {
  const { renderRuleset } = await import('../../../../shared/ruleset/render-ruleset.js');
  const { encodeRulesetDelta, rebuildFromRulesetDelta } = await import('../../../../shared/wire/ruleset-delta.js');
  const { knowLayout } = await import('../../../../agent/reconcile/delta-hint.js');
  const { readdirSync } = await import('node:fs');
  const { nft, dir, open } = setup(t);
  const r = await open();
  const blocklist = (from: number): Buffer =>
    Buffer.from(
      renderRuleset({
        nftables: [{ table: { family: 'inet', name: 'nft_sync' } }, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem: Array.from({ length: 100 }, (_, i) => `198.18.0.${from + i}`) } }],
      } as Parameters<typeof renderRuleset>[0]),
    );
  const first = blocklist(0);
  const C1 = '1'.repeat(40);
  assert.equal((await r.reconcile(once({ kind: 'ruleset', ref: 'main', ruleset: 'default', commit: C1, blob: gitBlobId(first), bytes: first, behind: false }))).kind, 'applied');
  const inForce = r.inForce!;
  knowLayout(inForce);
  assert.equal(nft.applied.length, 1);
  // The server announces the blob of `real` (two addresses changed); its delta rebuilds `forged` (two others), and no blob check comes with it.
  const real = blocklist(2);
  const forged = blocklist(3);
  const rebuilt = rebuildFromRulesetDelta(inForce.bytes, encodeRulesetDelta(inForce.bytes, forged)!, 1 << 24);
  assert.ok(rebuilt.edits);
  const out = await r.reconcile(once({ kind: 'ruleset', ref: 'main', ruleset: 'default', commit: C2, blob: gitBlobId(real), bytes: rebuilt.bytes, behind: false, delta: { base: inForce.blob, wireBytes: 10, edits: rebuilt.edits } }));
  await r.settled();
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH', JSON.stringify(out));
  assert.equal(nft.applied.length, 1, `nothing of the forged bytes reached nft: ${JSON.stringify(nft.applied.slice(1))}`);
  assert.ok(!readdirSync(dir).includes(`applied-${gitBlobId(real)}.json`), 'the forged bytes were not staged under the announced blob');
  assert.equal((await loadState(dir))!.state.pending, undefined, 'no pending mark left for bytes never applied');
});
