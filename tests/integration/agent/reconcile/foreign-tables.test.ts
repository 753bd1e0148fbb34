/**
 * Tables nft-sync does not own are never replaced: a revision that declares a table which
 * already exists on the host, and which the agent did not create, is refused on that host
 * (NFTSYNC_ERR_TABLE_NOT_OWNED, naming it) unless the agent was told to adopt it. Real server,
 * real nft in throwaway namespaces, real CLI for the flag.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { applyRuleset } from '../../../../agent/reconcile/apply-ruleset.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { Reconciler } from '../../../../agent/reconcile/reconciler.js';
import { loadState, saveState } from '../../../../agent/state/state-store.js';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { parseTablePatterns } from '../../../../shared/ruleset/table-pattern.js';
import { runCli } from '../../../helpers/cli-process.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');

/** fail2ban's table as fail2ban makes it: a chain hooked at input and a ban rule. */
function addFail2ban(ns: Netns): void {
  ns.nft(['-f', '-'], `table inet f2b-table {
  set addr-set-sshd { type ipv4_addr; elements = { 198.18.7.7 } }
  chain f2b-chain { type filter hook input priority filter - 1; policy accept;
    tcp dport 22 ip saddr @addr-set-sshd reject
  }
}
`);
}

/** The default ruleset plus a table `inet f2b-table` of its own (one chain, no rules). */
function withF2bTable(): string {
  const doc = JSON.parse(DEFAULT) as { nftables: unknown[] };
  doc.nftables.push({ table: { family: 'inet', name: 'f2b-table' } }, { chain: { family: 'inet', table: 'f2b-table', name: 'mine' } });
  return `${JSON.stringify(doc, null, 2)}\n`;
}


test("a foreign inet f2b-table survives a revision that declares it: refused with NFTSYNC_ERR_TABLE_NOT_OWNED naming it, nothing changed, on a first apply and on a later one", async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'f2b');
  addFail2ban(ns);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const dir = makeStateDir(t);
  const reconciler = await Reconciler.open({ agent: 'host-1', ref: 'main', ruleset: 'default', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) });

  // First apply (empty state) of a revision that declares the table.
  f.push({ 'rulesets/default.json': withF2bTable() });
  const before = ns.nft(['list', 'ruleset']);
  const first = await reconciler.reconcile(client);
  assert.equal(first.kind === 'failed' && first.error.code, 'NFTSYNC_ERR_TABLE_NOT_OWNED', JSON.stringify(first));
  assert.match((first as { error: NftSyncError }).error.message, /table "inet f2b-table", which already exists on this host/);
  assert.match((first as { error: NftSyncError }).error.message, /--adopt-tables 'inet f2b-table'/);
  assert.equal(ns.nft(['list', 'ruleset']), before, 'nothing changed');
  const st = (await loadState(dir))?.state;
  assert.equal(st?.pending, undefined, 'no pending mark names the foreign table');
  assert.equal(st?.lastFailed, undefined, 'not held against the revision: fixed on the host, it is tried again');

  // A restart finds nothing to restore, and the foreign table is still whole.
  const restarted = await Reconciler.open({ agent: 'host-1', ref: 'main', ruleset: 'default', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) });
  assert.equal(await restarted.recoverInterrupted(), false);

  // The agent's own revision goes in; a later one that declares the table is refused too.
  f.push({ 'rulesets/default.json': DEFAULT });
  assert.equal((await reconciler.reconcile(client)).kind, 'applied');
  f.push({ 'rulesets/default.json': withF2bTable() });
  const mid = ns.nft(['list', 'ruleset']);
  const later = await reconciler.reconcile(client);
  assert.equal(later.kind === 'failed' && later.error.code, 'NFTSYNC_ERR_TABLE_NOT_OWNED');
  assert.equal(ns.nft(['list', 'ruleset']), mid, 'nothing changed');
  assert.match(ns.nft(['list', 'table', 'inet', 'f2b-table']), /tcp dport 22 ip saddr @addr-set-sshd reject/);
});

test('the transaction itself refuses a foreign table that appears after any check: nft answers EEXIST, the error names the table, nothing changed', async (t) => {
  const ns = createNetns(t, 'f2b');
  const nft = createNftRunner(ns.nftCommand);
  const mine = parseRuleset(DEFAULT);
  await applyRuleset({ nft, ruleset: mine, previouslyManaged: [] });
  addFail2ban(ns);
  const before = ns.nft(['list', 'ruleset']);
  await assert.rejects(applyRuleset({ nft, ruleset: parseRuleset(withF2bTable()), previouslyManaged: [{ family: 'inet', name: 'nft_sync' }] }), (e: unknown) => {
    assert.ok(e instanceof NftSyncError);
    assert.equal(e.code, 'NFTSYNC_ERR_TABLE_NOT_OWNED');
    assert.deepEqual(e.data?.tables, ['inet f2b-table']);
    return true;
  });
  assert.equal(ns.nft(['list', 'ruleset']), before);
  // With --check the dry run refuses it the same way.
  await assert.rejects(applyRuleset({ nft, ruleset: parseRuleset(withF2bTable()), previouslyManaged: [{ family: 'inet', name: 'nft_sync' }], check: true }), { code: 'NFTSYNC_ERR_TABLE_NOT_OWNED' });
});

test('with --adopt-tables the foreign table is replaced by the revision and managed from then on (deleted when a revision drops it)', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'f2b');
  addFail2ban(ns);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const dir = makeStateDir(t);
  const reconciler = await Reconciler.open({ agent: 'host-1', ref: 'main', ruleset: 'default', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand), adoptTables: parseTablePatterns('ip kube-*, inet f2b-*') });
  f.push({ 'rulesets/default.json': withF2bTable() });
  const outcome = await reconciler.reconcile(client);
  assert.equal(outcome.kind, 'applied', JSON.stringify(outcome));
  const f2b = ns.nft(['list', 'table', 'inet', 'f2b-table']);
  assert.match(f2b, /chain mine/);
  assert.doesNotMatch(f2b, /f2b-chain|addr-set-sshd/);
  assert.ok((await loadState(dir))?.state.managedTables.some((x) => x.family === 'inet' && x.name === 'f2b-table'));
  f.push({ 'rulesets/default.json': DEFAULT });
  assert.equal((await reconciler.reconcile(client)).kind, 'applied');
  assert.doesNotMatch(ns.nft(['list', 'tables']), /f2b-table/);
});

test('pull --adopt-tables: refused without it (exit 1, the code and the table on stderr), applied with it', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': withF2bTable() });
  const ns = createNetns(t, 'f2b');
  addFail2ban(ns);
  const dir = makeStateDir(t);
  const args = ['pull', '--server', `${f.host}:${f.port}`, '--ref', 'main', '--name', 'host-1', '--nft', ns.nftCommand, '--state-dir', dir, '--confirm-window', '0'];
  const refused = await runCli(args);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /nft-sync: NFTSYNC_ERR_TABLE_NOT_OWNED: .*"inet f2b-table"/);
  assert.match(ns.nft(['list', 'table', 'inet', 'f2b-table']), /reject/);
  const adopted = await runCli([...args, '--adopt-tables', 'inet f2b-table']);
  assert.equal(adopted.code, 0, adopted.stderr);
  assert.doesNotMatch(ns.nft(['list', 'table', 'inet', 'f2b-table']), /reject/);
});

test('restore paths never reach a foreign table: a refused confirm and a crash with a pending mark remove the table the revision created, fail2ban\'s stays', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'f2b');
  addFail2ban(ns);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const dir = makeStateDir(t);
  const nft = createNftRunner(ns.nftCommand);
  const open = (confirm?: { windowMs: number; probe: () => Promise<void> }) =>
    Reconciler.open({ agent: 'host-1', ref: 'main', ruleset: 'default', stateDir: dir, logger: quietLogger, nft, ...(confirm && { confirm }) });
  f.push({ 'rulesets/default.json': DEFAULT });
  assert.equal((await (await open()).reconcile(client)).kind, 'applied');
  const f2b = ns.nft(['list', 'table', 'inet', 'f2b-table']);
  const inForce = ns.nft(['list', 'ruleset']);

  // A revision adding a new table of its own cuts the host off: the restore removes that table.
  const withExtra = JSON.parse(DEFAULT) as { nftables: unknown[] };
  withExtra.nftables.push({ table: { family: 'inet', name: 'extra' } }, { chain: { family: 'inet', table: 'extra', name: 'c' } });
  f.push({ 'rulesets/default.json': JSON.stringify(withExtra, null, 2) });
  const cutOff = await (await open({ windowMs: 300, probe: () => Promise.reject(new Error('cut off (simulated)')) })).reconcile(client);
  assert.equal(cutOff.kind === 'failed' && cutOff.error.code, 'NFTSYNC_ERR_CONFIRM_FAILED');
  assert.equal(ns.nft(['list', 'ruleset']), inForce);

  // The agent dies inside the confirm window of that revision: simulated by applying it, then
  // putting back the state it had (the confirmed revision) with a pending mark naming the
  // revision's tables, as the state is while a revision awaits its confirmation.
  const before = (await loadState(dir))!;
  const dying = await (await open()).reconcile(client, { retryFailed: true });
  assert.equal(dying.kind, 'applied');
  assert.match(ns.nft(['list', 'tables']), /inet extra/);
  const pending = { commit: dying.kind === 'applied' ? dying.commit : '', blob: dying.kind === 'applied' ? dying.blob : '', ruleset: 'default', managedTables: [{ family: 'inet' as const, name: 'nft_sync' }, { family: 'inet' as const, name: 'extra' }], startedAt: new Date().toISOString() };
  await saveState(dir, { ...before.state, pending }, before.applied);
  assert.equal(await (await open()).recoverInterrupted(), true);
  assert.equal(ns.nft(['list', 'ruleset']), inForce, "the confirmed revision is back, the revision's own table gone, fail2ban's untouched");
  assert.equal(ns.nft(['list', 'table', 'inet', 'f2b-table']), f2b);
});
