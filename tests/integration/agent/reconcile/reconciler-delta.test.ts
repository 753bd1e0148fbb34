/**
 * The agent moving between revisions it knows: with a real server, the real nft in a throwaway
 * namespace and a state directory, the second revision goes in as a minimal transaction; after
 * a restart (the revision in force read back from the state directory) too; with a drift
 * outstanding, as the full replacement. Revisions written one element a line (as the server
 * writes them) are planned from the delta fetch's hint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { Reconciler, type ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';

const DEFAULT = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };

/** default.json plus a blocklist of `n` addresses from `from`. */
function withBlocklist(from: number, n: number): string {
  const elem = Array.from({ length: n }, (_, i) => `198.18.${((from + i) >> 8) & 255}.${(from + i) & 255}`);
  return JSON.stringify({ nftables: [...DEFAULT.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] }, null, 1);
}

/**
 * A server, a namespace `name` for nft, a state directory and a wire client, all gone after the
 * test; `opts` opens the reconciler of agent host-1 following main there.
 */
async function agentSetUp(t: TestContext, name: string) {
  const f = await startServerFixture(t);
  const ns = createNetns(t, name);
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const opts = { agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) };
  return { f, ns, client, opts };
}

function transactionOf(o: ReconcileOutcome): string {
  assert.equal(o.kind, 'applied', JSON.stringify(o));
  return o.kind === 'applied' ? o.apply.transaction.kind : '';
}

test('the agent applies a revision after one it knows as a delta, also after a restart, and not while drifted', async (t) => {
  const { f, ns, client, opts } = await agentSetUp(t, 'rdl');

  f.push({ 'rulesets/default.json': withBlocklist(0, 300) }, 'first');
  let agent = await Reconciler.open(opts);
  assert.equal(transactionOf(await agent.reconcile(client)), 'full', 'nothing known in force yet');

  f.push({ 'rulesets/default.json': withBlocklist(10, 300) }, 'ten changed');
  const second = await agent.reconcile(client);
  assert.equal(transactionOf(second), 'delta');
  assert.match(second.kind === 'applied' ? second.apply.transaction.reason : '', /\+10\/-10 elements/);
  assert.deepEqual(second.kind === 'applied' && second.apply.readback.differences, []);

  agent = await Reconciler.open(opts);
  f.push({ 'rulesets/default.json': withBlocklist(20, 300) }, 'after a restart');
  assert.equal(transactionOf(await agent.reconcile(client)), 'delta');

  agent.noteDrift(new NftSyncError('NFTSYNC_ERR_DRIFTED', 'changed by hand'), false);
  f.push({ 'rulesets/default.json': withBlocklist(30, 300) }, 'while drifted');
  assert.equal(transactionOf(await agent.reconcile(client)), 'full');
  assert.match(ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']), /198\.18\.1\.73/);
});

test('revisions written one element a line: the delta fetch\'s hint plans the change, the host holds exactly the new set, also after a restart', async (t) => {
  const { f, ns, client, opts } = await agentSetUp(t, 'rdh');
  const rendered = (from: number): string => renderRuleset(JSON.parse(withBlocklist(from, 300)));
  const applied = (o: ReconcileOutcome) => (o.kind === 'applied' ? o.apply.transaction : undefined);

  f.push({ 'rulesets/default.json': rendered(0) }, 'first');
  let agent = await Reconciler.open(opts);
  assert.equal(applied(await agent.reconcile(client))?.kind, 'full');
  f.push({ 'rulesets/default.json': rendered(10) }, 'ten changed');
  const second = applied(await agent.reconcile(client));
  assert.equal(second?.kind, 'delta');
  assert.equal(second?.hinted, true);
  assert.match(second?.reason ?? '', /\+10\/-10 elements/);

  agent = await Reconciler.open(opts);
  f.push({ 'rulesets/default.json': rendered(25) }, 'after a restart');
  const third = applied(await agent.reconcile(client));
  assert.equal(third?.hinted, true, 'the layout of the bytes in force found again from the state directory');
  const listed = JSON.parse(ns.nft(['-j', 'list', 'set', 'inet', 'nft_sync', 'blk'])) as { nftables: Array<{ set?: { elem?: string[] } }> };
  const elem = listed.nftables.find((i) => i.set)?.set?.elem ?? [];
  assert.deepEqual([...elem].sort(), (JSON.parse(withBlocklist(25, 300)).nftables.at(-1).set.elem as string[]).sort());
});

test('after a full pass the agent finds the layout of the revision in force while idle, not at the next delta (0.5 s for 1,000,000 elements there); after a delta pass it is carried', async (t) => {
  const { layoutKnown } = await import('../../../../agent/reconcile/delta-hint.js');
  const { waitFor } = await import('../../../helpers/wait-for.js');
  const { f, client, opts } = await agentSetUp(t, 'rdk');
  const agent = await Reconciler.open(opts);
  const rendered = (from: number): string => renderRuleset(JSON.parse(withBlocklist(from, 300)));
  f.push({ 'rulesets/default.json': rendered(0) }, 'first');
  assert.equal(transactionOf(await agent.reconcile(client)), 'full');
  const first = agent.inForce!;
  await waitFor(() => layoutKnown(first.bytes), { what: 'the layout found while idle', timeoutMs: 5000 });
  f.push({ 'rulesets/default.json': rendered(10) }, 'ten changed');
  const second = await agent.reconcile(client);
  assert.equal(second.kind === 'applied' && second.apply.transaction.hinted, true);
  assert.ok(layoutKnown(agent.inForce!.bytes), 'carried by the delta\'s hint');
});

test('review: a pass that makes nothing ready for a next one (prepareNext: false, the one-shot pull\'s) does not find the layout of the revision in force afterwards (it held a one-shot pull\'s exit 0.5-1.5 s for 1,000,000 elements, for a next pass it never makes)', async (t) => {
  const { layoutKnown } = await import('../../../../agent/reconcile/delta-hint.js');
  const { f, client, opts } = await agentSetUp(t, 'rdn');
  const agent = await Reconciler.open(opts);
  f.push({ 'rulesets/default.json': renderRuleset(JSON.parse(withBlocklist(0, 300))) }, 'first');
  assert.equal(transactionOf(await agent.reconcile(client, { prepareNext: false })), 'full');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(layoutKnown(agent.inForce!.bytes), false, 'nothing done after the pass');
});

test('an element-only change of a hash set goes to nft before its plan is made (early), as the plan\'s own batch; the host holds exactly the new set; a change that also touches a rule, or an interval set, is planned first', async (t) => {
  const { layoutKnown } = await import('../../../../agent/reconcile/delta-hint.js');
  const { waitFor } = await import('../../../helpers/wait-for.js');
  const { loadState } = await import('../../../../agent/state/state-store.js');
  const { f, ns, client, opts } = await agentSetUp(t, 'rde');
  const agent = await Reconciler.open(opts);
  const applied = (o: ReconcileOutcome) => {
    assert.equal(o.kind, 'applied', JSON.stringify(o));
    return o.kind === 'applied' ? o.apply.transaction : undefined;
  };
  const elements = (): string[] => {
    const listed = JSON.parse(ns.nft(['-j', 'list', 'set', 'inet', 'nft_sync', 'blk'])) as { nftables: Array<{ set?: { elem?: Array<string | { prefix: { addr: string; len: number } }> } }> };
    return (listed.nftables.find((i) => i.set)?.set?.elem ?? []).map((e) => (typeof e === 'string' ? e : `${e.prefix.addr}/${e.prefix.len}`)).sort();
  };
  const declared = (text: string): string[] => ((JSON.parse(text) as { nftables: Array<{ set?: { elem: string[] } }> }).nftables.find((i) => i.set)!.set!.elem as string[]).slice().sort();
  const settle = async (): Promise<void> => {
    const inForce = agent.inForce!;
    await waitFor(() => layoutKnown(inForce.bytes), { what: 'the layout of the revision in force', timeoutMs: 5000 });
  };

  f.push({ 'rulesets/default.json': renderRuleset(JSON.parse(withBlocklist(0, 300))) }, 'first');
  assert.equal(applied(await agent.reconcile(client))?.kind, 'full');
  await settle();
  for (const from of [10, 25]) {
    const text = renderRuleset(JSON.parse(withBlocklist(from, 300)));
    f.push({ 'rulesets/default.json': text }, `from ${from}`);
    const tx = applied(await agent.reconcile(client));
    assert.equal(tx?.early, true, JSON.stringify(tx));
    assert.equal(tx?.kind, 'delta');
    assert.equal(tx?.hinted, true);
    assert.match(tx?.reason ?? '', /\+\d+\/-\d+ elements/);
    assert.deepEqual(elements(), declared(text));
    const st = (await loadState(opts.stateDir))!.state;
    assert.equal(st.pending, undefined, 'the pending mark went with the record');
    assert.equal(st.blob, agent.inForce!.blob);
  }

  // Elements and a rule in one change: the edits leave the element lines, so the plan comes first.
  const withRule = JSON.parse(withBlocklist(40, 300)) as { nftables: unknown[] };
  withRule.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blk' } }, { drop: null }] } });
  f.push({ 'rulesets/default.json': renderRuleset(withRule) }, 'a rule too');
  const ruled = applied(await agent.reconcile(client));
  assert.equal(ruled?.early, undefined);
  assert.equal(ruled?.kind, 'delta');
  await settle();

  // An interval set: the plan decides (its deletions may cost more than a refill), after it is made.
  const interval = (from: number): string => {
    const r = JSON.parse(withBlocklist(from, 300)) as { nftables: Array<{ set?: Record<string, unknown> }> };
    r.nftables.find((i) => i.set)!.set!.flags = ['interval'];
    return renderRuleset(r);
  };
  f.push({ 'rulesets/default.json': interval(40) }, 'interval');
  applied(await agent.reconcile(client));
  await settle();
  f.push({ 'rulesets/default.json': interval(50) }, 'interval changed');
  const iv = applied(await agent.reconcile(client));
  assert.equal(iv?.early, undefined);
  assert.equal(iv?.hinted, true);
  assert.deepEqual(elements(), declared(interval(50)));
});

test('security (fabricated server answer): an element-only delta whose bytes fail their blob check never reaches nft; the whole ruleset fetched instead is applied; when that fetch fails, the state is as before', async (t) => {
  const { layoutKnown } = await import('../../../../agent/reconcile/delta-hint.js');
  const { waitFor } = await import('../../../helpers/wait-for.js');
  const { loadState } = await import('../../../../agent/state/state-store.js');
  const { encodeRulesetDelta, rebuildFromRulesetDelta } = await import('../../../../shared/wire/ruleset-delta.js');
  const { gitBlobId } = await import('../../../../shared/git/git-blob-id.js');
  const { f, ns, client, opts } = await agentSetUp(t, 'rdf');
  const agent = await Reconciler.open(opts);
  f.push({ 'rulesets/default.json': renderRuleset(JSON.parse(withBlocklist(0, 300))) }, 'first');
  assert.equal(transactionOf(await agent.reconcile(client)), 'full');
  const inForce = agent.inForce!;
  await waitFor(() => layoutKnown(inForce.bytes), { what: 'the layout of the revision in force', timeoutMs: 5000 });

  // The server announces the blob of `real`; its delta rebuilds `forged` (element-only, valid) instead.
  const real = Buffer.from(renderRuleset(JSON.parse(withBlocklist(400, 300))));
  const forged = Buffer.from(renderRuleset(JSON.parse(withBlocklist(5, 300))));
  const rebuilt = rebuildFromRulesetDelta(inForce.bytes, encodeRulesetDelta(inForce.bytes, forged)!, 1 << 24);
  const commit = 'f'.repeat(40);
  const answer = { kind: 'ruleset' as const, ref: 'main', ruleset: 'default', commit, blob: gitBlobId(real), behind: false };
  // The second fetch fails: the pass fails, and the state is as before it (the pending mark, written while the id was computed, taken back).
  const stateBefore = await loadState(opts.stateDir);
  const failing = await agent.reconcile({
    fetch: async () => ({
      ...answer,
      bytes: rebuilt.bytes,
      delta: { base: inForce.blob, wireBytes: 100, edits: rebuilt.edits! },
      blobCheck: async () => {
        throw new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'gone');
      },
    }),
  });
  assert.equal(failing.kind === 'failed' && failing.error.code, 'NFTSYNC_ERR_CONN_CLOSED');
  assert.deepEqual((await loadState(opts.stateDir))!.state, stateBefore!.state, 'the state is as before the pass');
  assert.doesNotMatch(ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']), /198\.18\.1\.48/);

  let seen: { elements: string } | undefined;
  const blobCheck = async () => {
    seen = { elements: ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']) };
    return { ...answer, bytes: real, deltaRefused: 'the bytes rebuilt do not hash to the blob announced' };
  };
  const out = await agent.reconcile({ fetch: async () => ({ ...answer, bytes: rebuilt.bytes, delta: { base: inForce.blob, wireBytes: 100, edits: rebuilt.edits! }, blobCheck }) });
  assert.ok(seen, 'the blob check was awaited');
  assert.doesNotMatch(seen.elements, /198\.18\.1\.48/, 'nothing of the forged bytes reached nft before the check (its last element is 198.18.1.48)');
  assert.equal(out.kind, 'applied', JSON.stringify(out));
  assert.equal(out.kind === 'applied' && out.apply.transaction.early, undefined, 'the whole ruleset went the usual way');
  assert.match(ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']), /198\.18\.2\.187/, 'the real revision is in force (its last element is 198.18.2.187)');
  assert.doesNotMatch(ns.nft(['list', 'set', 'inet', 'nft_sync', 'blk']), /198\.18\.1\.48\b/);
});

test('foresee (an ahead frame\'s edits, protocol 2): the early batch of edits against the revision in force is worked out while the agent waits, and kept for the very same edits; not against another revision, nor while a pass runs; the pass with those edits takes the same batch', async (t) => {
  const { layoutKnown, earlyBatchKnown, earlyElementBatch } = await import('../../../../agent/reconcile/delta-hint.js');
  const { verifyRevision } = await import('../../../../agent/reconcile/verify-revision.js');
  const { waitFor } = await import('../../../helpers/wait-for.js');
  const { f, client, opts } = await agentSetUp(t, 'rfs');
  const agent = await Reconciler.open(opts);
  f.push({ 'rulesets/default.json': renderRuleset(JSON.parse(withBlocklist(0, 300))) }, 'first');
  assert.equal(transactionOf(await agent.reconcile(client)), 'full');
  const inForce = agent.inForce!;
  await waitFor(() => layoutKnown(inForce.bytes), { what: 'the layout of the revision in force', timeoutMs: 5000 });
  const second = f.push({ 'rulesets/default.json': renderRuleset(JSON.parse(withBlocklist(10, 300))) }, 'second');
  const got = await client.fetch({ ref: 'main', have: { commit: inForce.commit, blob: inForce.blob }, base: inForce.bytes });
  assert.ok(got.kind === 'ruleset' && got.commit === second && got.delta?.edits !== undefined);
  const edits = got.delta!.edits!;
  agent.foresee('e'.repeat(40), edits);
  assert.equal(earlyBatchKnown(edits), false, 'edits against another blob than the one in force: nothing worked out');
  agent.foresee(inForce.blob, edits);
  assert.equal(earlyBatchKnown(edits), true);
  // What the pass's early path asks for, with the same base and tables: the very batch kept.
  const base = { bytes: inForce.bytes, blob: inForce.blob, ruleset: verifyRevision(inForce.bytes, inForce.blob, { ruleset: inForce.ruleset, commit: inForce.commit }).ruleset };
  const batch = earlyElementBatch(base, edits, inForce.managedTables);
  assert.ok(batch !== undefined);
  assert.equal(earlyElementBatch(base, edits, inForce.managedTables), batch, 'kept: not worked out again');
  assert.notEqual(earlyElementBatch(base, [...edits], inForce.managedTables), batch, 'other edits (another array): worked out anew');
  assert.deepEqual(earlyElementBatch(base, [...edits], inForce.managedTables), batch);
  // While a pass runs, nothing.
  const running = agent.reconcile(client);
  await waitFor(() => agent.busy, { what: 'the pass under way', timeoutMs: 5000 });
  const copy = [...edits];
  agent.foresee(inForce.blob, copy);
  assert.equal(earlyBatchKnown(copy), false, 'nothing while a pass runs');
  assert.equal(transactionOf(await running), 'delta');
});
