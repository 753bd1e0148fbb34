/**
 * The reconciler's decision table, in plain unit tests: a fake fetcher (what the server
 * answers), a fake nft (tables in memory) and a real state directory in a temporary folder. No
 * root, no namespace, no server. Each row: what the server answers and nft does, and what the
 * pass returns, records and reports.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Reconciler, type ReconcilerOptions } from '../../../../agent/reconcile/reconciler.js';
import type { FetchRequest, FetchResult, RevisionFetcher } from '../../../../agent/reconcile/revision-fetcher.js';
import { appliedFileName, loadState } from '../../../../agent/state/state-store.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { fakeNft, type FakeNft } from '../../../helpers/fake-nft-runner.js';

const V1 = readFileSync('repo-template/rulesets/default.json');
// Another revision: one more table, so the two are told apart in nft.
const V2 = Buffer.from(JSON.stringify({ nftables: [...(JSON.parse(V1.toString()) as { nftables: unknown[] }).nftables, { table: { family: 'ip', name: 'nft_sync_v2' } }] }, null, 2));
// V1 and one more rule in its output chain: a change the minimal transaction makes as a delta.
const V3 = Buffer.from(JSON.stringify({ nftables: [...(JSON.parse(V1.toString()) as { nftables: unknown[] }).nftables, { rule: { family: 'inet', table: 'nft_sync', chain: 'output', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 25 } }, { drop: null }] } }] }, null, 2));
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const quiet = pino({ level: 'silent' });

function rev(commit: string, bytes: Buffer, extra: Partial<FetchResult> = {}): FetchResult {
  return { kind: 'ruleset', ref: 'main', ruleset: 'default', commit, blob: gitBlobId(bytes), bytes, behind: false, ...extra } as FetchResult;
}
function unchanged(commit: string, bytes: Buffer, extra: Partial<FetchResult> = {}): FetchResult {
  return { kind: 'unchanged', ref: 'main', ruleset: 'default', commit, blob: gitBlobId(bytes), ...extra } as FetchResult;
}

/** A fake fetcher: answers (or errors) in order, and the requests it got. */
function fakeFetcher(...answers: (FetchResult | NftSyncError)[]): RevisionFetcher & { requests: FetchRequest[] } {
  const requests: FetchRequest[] = [];
  return {
    requests,
    async fetch(req) {
      requests.push(req);
      const a = answers.shift();
      if (a === undefined) throw new Error('the fake fetcher has no more answers');
      if (a instanceof NftSyncError) throw a;
      return a;
    },
  };
}

function setup(t: TestContext, extra: Partial<ReconcilerOptions> = {}): { nft: FakeNft; dir: string; open: () => Promise<Reconciler> } {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-reconciler-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nft = fakeNft();
  return { nft, dir, open: () => Reconciler.open({ agent: 'h1', ref: 'main', nft, stateDir: dir, logger: quiet, ...extra }) };
}

const ready = (r: Reconciler) => r.status().conditions.find((c) => c.type === 'Ready')!;
const failedProbe = { windowMs: 20, probe: async () => Promise.reject(new Error('cut off')) };
const okProbe = { windowMs: 1000, probe: async () => {} };

test('fake fetcher, new revision: applied, recorded, Ready', async (t) => {
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  const r = await open();
  const out = await r.reconcile(fakeFetcher(rev(C1, V1)));
  assert.equal(out.kind, 'applied');
  assert.equal(out.kind === 'applied' && out.apply.readback.ok, true);
  assert.deepEqual(nft.listed, ['inet nft_sync'], 'the read-back listed the table it applied');
  assert.equal(nft.applied.length, 1);
  assert.deepEqual([...nft.tables.keys()], ['inet nft_sync']);
  const st = (await loadState(dir))!.state;
  assert.equal(st.commit, C1);
  assert.equal(st.pending, undefined);
  assert.equal(r.status().state, 'Applied');
  assert.equal(ready(r).reason, 'Applied');
});

test('fake fetcher, same revision: unchanged, nft not run, the new commit recorded', async (t) => {
  const { nft, dir, open } = setup(t);
  await (await open()).reconcile(fakeFetcher(rev(C1, V1)));
  const r = await open();
  const fetcher = fakeFetcher(unchanged(C2, V1));
  const out = await r.reconcile(fetcher);
  assert.equal(out.kind, 'unchanged');
  assert.deepEqual(fetcher.requests[0]!.have, { commit: C1, blob: gitBlobId(V1) }, 'the agent says what it has');
  assert.equal(nft.applied.length, 1, 'no second transaction');
  assert.equal((await loadState(dir))!.state.commit, C2);
  assert.equal(r.status().state, 'Applied');
});

test('fake fetcher, delta from a known revision: the bytes in force are offered as base, only the change is applied; not while drifted', async (t) => {
  const { nft, open } = setup(t);
  const r = await open();
  const first = await r.reconcile(fakeFetcher(rev(C1, V1)));
  assert.equal(first.kind === 'applied' && first.apply.transaction.kind, 'full', 'nothing known in force yet');
  const fetcher = fakeFetcher(rev(C2, V3));
  const out = await r.reconcile(fetcher);
  assert.ok(fetcher.requests[0]!.base?.equals(V1), 'the bytes of the revision in force go with `have`');
  assert.equal(out.kind === 'applied' && out.apply.transaction.kind, 'delta', JSON.stringify(out.kind === 'applied' && out.apply.transaction));
  assert.equal(out.kind === 'applied' && out.apply.readback.ok, true);
  assert.deepEqual(Object.keys(nft.applied[1]!.nftables[0]!), ['flush'], 'the delta flushes the changed chain, no table is re-created');
  assert.equal(nft.applied[1]!.nftables.length, 2);
  r.noteDrift(new NftSyncError('NFTSYNC_ERR_DRIFTED', 'changed by hand'), false);
  const drifted = await r.reconcile(fakeFetcher(rev(C1, V1)));
  assert.equal(drifted.kind === 'applied' && drifted.apply.transaction.kind, 'full', 'a drift outstanding: the host may not hold the revision in force');
});

test('fake fetcher, the bytes in force are written once: the pending mark leaves them as they are, and the new bytes are staged while nft runs and not written again when recorded', async (t) => {
  const { nft, dir, open } = setup(t);
  await (await open()).reconcile(fakeFetcher(rev(C1, V1)));
  const r = await open();
  const file = (bytes: Buffer): string => join(dir, appliedFileName(gitBlobId(bytes)));
  const v1Ino = statSync(file(V1)).ino;
  let during: { v1Ino: number; v2Ino: number; pending: boolean } | undefined;
  const apply = nft.applyJson.bind(nft);
  nft.applyJson = async (json) => {
    // The staged write runs beside nft: wait for its rename (a new inode each time the file is written).
    for (let i = 0; i < 200 && !existsSync(file(V2)); i++) await new Promise((ok) => setTimeout(ok, 10));
    during = { v1Ino: statSync(file(V1)).ino, v2Ino: statSync(file(V2)).ino, pending: (await loadState(dir))!.state.pending !== undefined };
    return apply(json);
  };
  const out = await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(out.kind, 'applied');
  assert.deepEqual({ ...during, v2Ino: 0 }, { v1Ino, v2Ino: 0, pending: true }, 'the pending mark was saved without writing the bytes in force again');
  assert.equal(statSync(file(V2)).ino, during!.v2Ino, 'the record step renamed state.json only');
  // The old bytes are unlinked once the outcome is out (in the background).
  const want = [appliedFileName(gitBlobId(V2)), 'state.json'];
  for (let i = 0; i < 200 && readdirSync(dir).length > want.length; i++) await new Promise((ok) => setTimeout(ok, 10));
  assert.deepEqual(readdirSync(dir).sort(), want);
  const loaded = (await loadState(dir))!;
  assert.ok(loaded.applied?.equals(V2));
  assert.equal(loaded.state.commit, C2);
});

test('fake fetcher, fetch error: failed without a commit, nothing changes, reason Unreachable', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  const out = await r.reconcile(fakeFetcher(new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'gone')));
  assert.equal(out.kind, 'failed');
  assert.equal(out.kind === 'failed' && out.commit, undefined);
  assert.equal(nft.applied.length, 0);
  assert.equal(await loadState(dir), undefined, 'no state written');
  assert.equal(ready(r).reason, 'Unreachable');
});

test('fake fetcher, verify failure (bytes that do not hash to the blob): refused before nft, recorded as failed', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  const out = await r.reconcile(fakeFetcher({ ...rev(C1, V1), blob: gitBlobId(V2) } as FetchResult));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH');
  assert.equal(nft.applied.length, 0);
  assert.equal((await loadState(dir))!.state.lastFailed?.code, 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH');
  assert.equal(ready(r).reason, 'VerifyFailed');
});

test('fake fetcher, an answer to another question: refused, nothing applied', async (t) => {
  const { nft, open } = setup(t, { ruleset: 'default' });
  const r = await open();
  const out = await r.reconcile(fakeFetcher(rev(C1, V1, { ruleset: 'other' })));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_VERIFY_CHAIN');
  assert.equal(nft.applied.length, 0);
});

test('fake fetcher, apply failure: nft refuses, the previous revision stays, the attempt is recorded as failed and then skipped', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  await r.reconcile(fakeFetcher(rev(C1, V1)));
  nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_APPLY', 'nft said no');
  const out = await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_NFT_APPLY');
  const st = (await loadState(dir))!.state;
  assert.equal(st.commit, C1, 'the revision in force stays');
  assert.equal(st.pending, undefined, 'the attempt\'s pending mark went');
  assert.equal(st.lastFailed?.commit, C2);
  assert.equal(ready(r).reason, 'ApplyFailed');
  // The same blob again: not retried in a loop, unless asked (pull).
  delete nft.fail.apply;
  const again = await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(again.kind, 'skipped');
  assert.equal(ready(r).reason, 'ApplyFailed', 'the earlier failure is still what the status says');
  assert.equal((await r.reconcile(fakeFetcher(rev(C2, V2)), { retryFailed: true })).kind, 'applied');
});

test('fake fetcher, nft cannot run: failed, but not recorded against the revision', async (t) => {
  const { nft, dir, open } = setup(t);
  nft.fail.apply = new NftSyncError('NFTSYNC_ERR_NFT_EXEC', 'no such file');
  const r = await open();
  assert.equal((await r.reconcile(fakeFetcher(rev(C1, V1)))).kind, 'failed');
  assert.equal((await loadState(dir))!.state.lastFailed, undefined);
});

test('fake fetcher, read-back mismatch: a result, not an exception; the revision is in force, confirmed and recorded, the agent Degraded', async (t) => {
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  // nft "loads it differently": the listing lacks the last item.
  nft.alterListing = (doc) => ({ nftables: doc.nftables.slice(0, -1) });
  const r = await open();
  const out = await r.reconcile(fakeFetcher(rev(C1, V1)));
  assert.equal(out.kind, 'failed');
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_READBACK_MISMATCH');
  assert.ok(out.kind === 'failed' && out.recorded, 'the outcome says the revision was recorded as in force');
  const st = (await loadState(dir))!.state;
  assert.equal(st.commit, C1, 'the transaction happened: the revision is the one in force');
  assert.equal(st.pending, undefined);
  assert.equal(r.status().state, 'Degraded');
  assert.equal(ready(r).reason, 'ReadbackMismatch');
});

test('fake fetcher, read-back that times out after the transaction: the confirm window still runs, and restores when the server is not reached', async (t) => {
  // The transaction has happened when the listing times out. Before the steps, only
  // NFTSYNC_ERR_READBACK_MISMATCH and NFTSYNC_ERR_NFT_LIST were taken as "it happened"; a
  // timeout (retryable) skipped the confirm window, leaving a revision that may lock the host
  // out in force, unconfirmed and unrecorded.
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  assert.equal((await (await open()).reconcile(fakeFetcher(rev(C1, V1)))).kind, 'applied');
  const r = await Reconciler.open({ agent: 'h1', ref: 'main', nft, stateDir: dir, logger: quiet, confirm: failedProbe });
  nft.fail.listTable = new NftSyncError('NFTSYNC_ERR_NFT_TIMEOUT', 'nft list took too long');
  const out = await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_CONFIRM_FAILED', `got ${JSON.stringify(out)}`);
  assert.deepEqual([...nft.tables.keys()], ['inet nft_sync'], 'the previous revision was put back: the new table is gone');
  const st = (await loadState(dir))!.state;
  assert.equal(st.commit, C1);
  assert.equal(st.pending, undefined);
  assert.equal(st.lastFailed?.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
});

test('fake fetcher, listing the host\'s tables fails before the apply: nothing is applied, and nothing is recorded as applied', async (t) => {
  // Before the steps, this NFTSYNC_ERR_NFT_LIST (from the foreign-table check, before any
  // transaction) was caught as if the read-back had failed: the revision was recorded as the
  // one in force although nft never saw it.
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  nft.fail.listTables = new NftSyncError('NFTSYNC_ERR_NFT_LIST', 'nft list tables failed');
  const r = await open();
  const out = await r.reconcile(fakeFetcher(rev(C1, V1)));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_NFT_LIST');
  assert.equal(nft.applied.length, 0);
  assert.equal((await loadState(dir))?.state.commit, undefined, 'no revision recorded as in force');
  assert.equal(r.state?.commit, undefined);
  assert.equal(r.status().state, 'Failed');
});

test('fake fetcher, confirm window not reached: the previous revision is restored and the attempt recorded as failed', async (t) => {
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  await (await open()).reconcile(fakeFetcher(rev(C1, V1)));
  const r = await Reconciler.open({ agent: 'h1', ref: 'main', nft, stateDir: dir, logger: quiet, confirm: failedProbe });
  const out = await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  assert.deepEqual([...nft.tables.keys()], ['inet nft_sync']);
  const st = (await loadState(dir))!.state;
  assert.equal(st.commit, C1);
  assert.equal(st.lastFailed?.commit, C2);
  assert.equal(ready(r).reason, 'RolledBack');
});

test('fake fetcher, downgrade refused: held at the release in force, a Held condition, nothing applied', async (t) => {
  const { nft, open } = setup(t, { ref: 'v*', track: true });
  const r = await open();
  const first = await r.reconcile(fakeFetcher(rev(C2, V2, { ref: 'v*', tag: 'v2.0.0' })));
  assert.equal(first.kind, 'applied');
  const out = await r.reconcile(fakeFetcher(rev(C1, V1, { ref: 'v*', tag: 'v1.0.0' })));
  assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_RELEASE_DOWNGRADE');
  assert.equal(nft.applied.length, 1);
  const status = r.status();
  assert.equal(status.state, 'Degraded');
  assert.equal(status.tag, 'v2.0.0');
  assert.equal(status.conditions.find((c) => c.type === 'Held')?.reason, 'DowngradeRefused');
});

test('fake fetcher, interrupted restore: a pending mark found at start is restored over, counted, and the revision tried again', async (t) => {
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  await (await open()).reconcile(fakeFetcher(rev(C1, V1)));
  // The agent died inside C2's confirm window: C2's tables are in force, the mark says so.
  nft.tables.set('ip nft_sync_v2', []);
  const { saveState } = await import('../../../../agent/state/state-store.js');
  const st = (await loadState(dir))!;
  await saveState(dir, { ...st.state, pending: { commit: C2, blob: gitBlobId(V2), ruleset: 'default', managedTables: [{ family: 'inet', name: 'nft_sync' }, { family: 'ip', name: 'nft_sync_v2' }], startedAt: 'then' } }, st.applied);
  const r = await open();
  assert.equal(await r.recoverInterrupted(), true);
  assert.deepEqual([...nft.tables.keys()], ['inet nft_sync'], 'the unconfirmed table went');
  const after = (await loadState(dir))!.state;
  assert.equal(after.pending, undefined);
  assert.deepEqual(after.interrupted, { blob: gitBlobId(V2), count: 1 });
  assert.equal(after.lastFailed, undefined, 'one interruption says nothing against the revision');
  assert.equal((await r.reconcile(fakeFetcher(rev(C2, V2)))).kind, 'applied');
});

test('fake fetcher, a server behind the agent (a lagging replica after failover): its older revision is refused, nothing changes, Held (ServerBehind); the agent moves once a server says it is not behind', async (t) => {
  const { nft, dir, open } = setup(t, { confirm: okProbe });
  const r = await open();
  await r.reconcile(fakeFetcher(rev(C2, V2)));
  assert.equal(nft.applied.length, 1);
  // The lagging replica says so (its guard), or does not say (one without the guard): either way held.
  for (const answer of [rev(C1, V1, { behind: true }), rev(C1, V1, { behind: undefined }), unchanged(C2, V2, { behind: true })]) {
    const f = fakeFetcher(answer);
    const out = await r.reconcile(f);
    assert.equal(f.requests[0]!.checkBehind, true, 'the agent asked whether the server is behind it');
    assert.equal(out.kind === 'failed' && out.error.code, 'NFTSYNC_ERR_SERVER_BEHIND', JSON.stringify(out));
    assert.equal(out.kind === 'failed' && out.error.retryable, true, 'asked again with backoff');
    assert.equal(nft.applied.length, 1, 'nothing applied');
    assert.equal((await loadState(dir))!.state.commit, C2, 'the revision in force stays');
    const status = r.status();
    assert.equal(status.state, 'Degraded');
    assert.equal(status.commit, C2);
    assert.equal(ready(r).reason, 'ServerBehind');
    assert.match(status.conditions.find((c) => c.type === 'Held' && c.reason === 'ServerBehind')?.message ?? '', new RegExp(`held at ${C2}`));
  }
  // The replica caught up (it has C2 now) and has a newer commit still: the agent moves.
  const C3 = '3'.repeat(40);
  const out = await r.reconcile(fakeFetcher(rev(C3, V3, { behind: false })));
  assert.equal(out.kind, 'applied');
  assert.equal(r.status().state, 'Applied');
  assert.equal(r.status().conditions.some((c) => c.type === 'Held'), false);
});

test('fake fetcher, held state (agent --publish published the host\'s tables): its revision is applied without nft, once; forgotten, loaded as usual', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  await r.reconcile(fakeFetcher(rev(C1, V1)));
  const table = { family: 'inet' as const, name: 'nft_sync' };
  // The change by hand that was published: the host holds V3 now.
  const extra = (JSON.parse(V3.toString()) as { nftables: Array<Record<string, unknown>> }).nftables.at(-1)!;
  await nft.applyJson(JSON.stringify({ nftables: [{ add: extra }] }));
  const loads = nft.applied.length;
  const canon = JSON.stringify(normaliseRuleset(parseRuleset(V3), [table]));
  r.noteHeld({ canon, tables: [table], base: C1, commit: C2 });
  const out = await r.reconcile(fakeFetcher(rev(C2, V3)));
  assert.equal(out.kind, 'applied');
  assert.match(out.kind === 'applied' ? out.apply.transaction.reason : '', /holds this revision already/);
  assert.equal(nft.applied.length, loads, 'no transaction for what the host holds');
  assert.equal((await loadState(dir))!.state.commit, C2);
  assert.ok((await loadState(dir))!.applied?.equals(V3), 'the verified bytes are the ones in force');
  assert.equal(ready(r).reason, 'Applied');
  // The note served once; and a forgotten one is not used.
  r.noteHeld({ canon: JSON.stringify(normaliseRuleset(parseRuleset(V1), [table])), tables: [table], base: C2, commit: '4'.repeat(40) });
  r.forgetHeld();
  await r.reconcile(fakeFetcher(rev('4'.repeat(40), V1)));
  assert.equal(nft.applied.length, loads + 1);
});

/**
 * `nft.warm` held: each call is noted in `order` ('warm') and its start ends only when the test
 * calls its resolver in `warms`; `idle` (a fetcher's) notes `idle SIZE` there too.
 */
function heldWarmStarts(nft: { warm: () => Promise<void> }): { order: string[]; warms: Array<() => void>; idle: (inForce: Buffer) => void } {
  const order: string[] = [];
  const warms: Array<() => void> = [];
  nft.warm = () => {
    order.push('warm');
    return new Promise<void>((resolve) => warms.push(resolve));
  };
  return { order, warms, idle: (inForce) => void order.push(`idle ${inForce.length}`) };
}

test('after a pass, once its outcome is out: the nft runner warms first, then the fetcher gets ready (a fork after the memory was touched would undo the touching)', async (t) => {
  const { nft, open } = setup(t);
  const r = await open();
  const { order, warms, idle } = heldWarmStarts(nft);
  const fetcher = { ...fakeFetcher(rev(C1, V1)), idle };
  const out = await r.reconcile(fetcher);
  assert.equal(out.kind, 'applied');
  assert.deepEqual(order, [], 'nothing before the outcome is out');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm'], 'the fetcher waits for the warm start');
  warms.at(-1)!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm', `idle ${V1.length}`]);
});

test('the preparation for the next pass waits while a pass that started meanwhile runs (it held that pass up by 50-100 ms for a 1,000,000-element set), and then prepares for what that pass left in force', async (t) => {
  const { nft, open } = setup(t);
  const r = await open();
  const { order, warms, idle } = heldWarmStarts(nft);
  assert.equal((await r.reconcile({ ...fakeFetcher(rev(C1, V1)), idle })).kind, 'applied');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm']);
  // The next pass is in its fetch when the warm start ends.
  let fetched!: () => void;
  const inFetch = new Promise<void>((resolve) => (fetched = resolve));
  let answer!: () => void;
  const slow = fakeFetcher(rev(C2, V2));
  const second = r.reconcile({
    ...slow,
    idle,
    async fetch(req) {
      fetched();
      await new Promise<void>((resolve) => (answer = resolve));
      return slow.fetch(req);
    },
  });
  await inFetch;
  warms.at(-1)!();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm'], 'nothing prepared in the middle of the pass');
  answer();
  assert.equal((await second).kind, 'applied');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm', 'warm'], 'the second pass\'s preparation, not the first\'s stale one');
  warms.at(-1)!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm', 'warm', `idle ${V2.length}`]);
});

test('a warm start of an older pass that ends just after a later pass ended (before that pass\'s preparation ran) does not drop the later pass\'s preparation', async (t) => {
  const { nft, open } = setup(t);
  const r = await open();
  const { order, warms, idle } = heldWarmStarts(nft);
  assert.equal((await r.reconcile({ ...fakeFetcher(rev(C1, V1)), idle })).kind, 'applied');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm'], 'the first pass\'s warm start is under way');
  // The second pass ends while the first's warm start is still under way, and that warm start
  // ends (an I/O event) before the second pass's preparation got its turn.
  assert.equal((await r.reconcile({ ...fakeFetcher(rev(C2, V2)), idle })).kind, 'applied');
  warms[0]!();
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm', 'warm'], 'the second pass\'s preparation still runs');
  warms[1]!();
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['warm', 'warm', `idle ${V2.length}`]);
});

test('the pending mark does not wait for a pruning of the state directory in progress (it is on the path to nft); the pruning still ends', async (t) => {
  const { nft, dir, open } = setup(t);
  const r = await open();
  assert.equal((await r.reconcile(fakeFetcher(rev(C1, V1)))).kind, 'applied');
  await r.settled();
  // Stale applied files (as many revisions' would be): the next save's pruning takes a while.
  for (let i = 0; i < 20_000; i++) writeFileSync(join(dir, `applied-${i.toString(16).padStart(40, '0')}.json`), '');
  const stale = () => readdirSync(dir).filter((n) => n.startsWith('applied-') && n !== appliedFileName(gitBlobId(V1)) && n !== appliedFileName(gitBlobId(V2))).length;
  // A new commit of the same blob: recorded, and its pruning starts.
  assert.equal((await r.reconcile(fakeFetcher(unchanged(C2, V1)))).kind, 'unchanged');
  let atApply: { stale: number; pending: boolean } | undefined;
  const apply = nft.applyJson.bind(nft);
  nft.applyJson = async (json) => {
    atApply = { stale: stale(), pending: JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).pending !== undefined };
    return apply(json);
  };
  assert.equal((await r.reconcile(fakeFetcher(rev('3'.repeat(40), V2)))).kind, 'applied');
  assert.ok(atApply !== undefined && atApply.pending, 'the pending mark was on disk before nft ran');
  assert.ok(atApply.stale > 0, `nft ran while the pruning was still going (${atApply.stale} stale files left then)`);
  await r.settled();
  assert.equal(stale(), 0, 'the pruning ended');
  assert.equal((await loadState(dir))!.state.blob, gitBlobId(V2));
});
