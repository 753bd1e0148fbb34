/**
 * The reconciler's failure paths, with a real server and the real nft in a throwaway namespace:
 * which failures mark a revision as failed (not retried until a newer one) and that a pass
 * never rejects, whatever breaks under it.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { Reconciler } from '../../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { createNetns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');


async function connect(t: TestContext, f: ServerFixture): Promise<WireClient> {
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  return client;
}

test('nft that cannot run does not mark the revision failed: with nft fixed, the restarted agent applies it', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'rf');
  const dir = makeStateDir(t);
  const client = await connect(t, f);
  const opts = { agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger };

  // A wrong --nft (a typo, nft not installed yet): nothing is wrong with the revision.
  const broken = await Reconciler.open({ ...opts, nft: createNftRunner('/nonexistent/nft-binary') });
  const first = await broken.reconcile(client);
  assert.equal(first.kind, 'failed');
  assert.equal(first.kind === 'failed' && first.error.code, 'NFTSYNC_ERR_NFT_EXEC');

  // The operator fixes --nft and restarts the daemon (which does not pass retryFailed).
  const fixed = await Reconciler.open({ ...opts, nft: createNftRunner(ns.nftCommand) });
  const second = await fixed.reconcile(client);
  assert.equal(second.kind, 'applied', `expected the revision to be applied, got ${JSON.stringify(second)}`);
  assert.match(ns.nft(['list', 'tables']), /nft_sync/);
});

test('a pass resolves with an outcome (never rejects) when the state directory cannot be written', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': DEFAULT }, 'default');
  const ns = createNetns(t, 'rf');
  const dir = makeStateDir(t);
  const client = await connect(t, f);
  const reconciler = await Reconciler.open({ agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) });
  assert.equal((await reconciler.reconcile(client)).kind, 'applied');

  // The state directory becomes unwritable (here: a file where the directory was), and main
  // moves without changing this agent's ruleset: the pass has a new commit to record.
  rmSync(dir, { recursive: true, force: true });
  writeFileSync(dir, 'not a directory');
  f.push({ 'README.extra': 'x\n' }, 'unrelated');
  const outcome = await reconciler.reconcile(client).catch((err: unknown) => ({ kind: 'rejected' as const, err }));
  assert.notEqual(outcome.kind, 'rejected', `reconcile rejected: ${String((outcome as { err?: unknown }).err)}`);
  assert.equal(outcome.kind === 'failed' && outcome.error.code, 'NFTSYNC_ERR_STATE_CORRUPT');
  assert.equal(reconciler.status().conditions[0]?.reason, 'StateCorrupt');
  // The ruleset in force stays and the status can still be built and reported.
  assert.match(ns.nft(['list', 'tables']), /nft_sync/);
  assert.equal(reconciler.status().agent, 'host-1');
});

test('a pending mark still in the state (its restore failed at start) is cleaned up by the next apply: the unconfirmed tables go', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': DEFAULT }, 'default');
  const ns = createNetns(t, 'rf');
  const dir = makeStateDir(t);
  const client = await connect(t, f);
  const opts = { agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) };
  assert.equal((await (await Reconciler.open(opts)).reconcile(client)).kind, 'applied');

  // As the host looks after a crash inside the confirm window of a revision that added
  // `ip lockout_x`, when recoverInterrupted could not put the confirmed one back (the daemon
  // logs that and goes on): the table is in force and only the pending mark names it.
  ns.nft(['-f', '-'], 'table ip lockout_x {\n  chain in {\n    type filter hook input priority -10; policy drop;\n  }\n}\n');
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
  const lockoutTables = [{ family: 'inet', name: 'nft_sync' }, { family: 'ip', name: 'lockout_x' }];
  st.pending = { commit: 'a'.repeat(40), blob: 'b'.repeat(40), ruleset: 'default', managedTables: lockoutTables, startedAt: new Date().toISOString() };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(st));

  f.push({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2222') }, 'next');
  const outcome = await (await Reconciler.open(opts)).reconcile(client);
  assert.equal(outcome.kind, 'applied', JSON.stringify(outcome));
  assert.doesNotMatch(ns.nft(['list', 'tables']), /lockout_x/, 'the unconfirmed revision\'s table must not outlive the next apply');
});

test('a self-heal while a pending mark is left (its restore failed) also removes the unconfirmed tables', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': DEFAULT }, 'default');
  const ns = createNetns(t, 'rf');
  const dir = makeStateDir(t);
  const client = await connect(t, f);
  const opts = { agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) };
  assert.equal((await (await Reconciler.open(opts)).reconcile(client)).kind, 'applied');
  const confirmed = ns.nft(['list', 'table', 'inet', 'nft_sync']);

  // The unconfirmed revision changed nft_sync and added ip lockout_x; putting the confirmed one
  // back failed, so the pending mark stays (as after a failed restore at start or in the window).
  ns.nft(['-f', '-'], 'table ip lockout_x {\n  chain in {\n    type filter hook input priority -10; policy drop;\n  }\n}\nadd rule inet nft_sync input tcp dport 9999 accept\n');
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
  st.pending = { commit: 'a'.repeat(40), blob: 'b'.repeat(40), ruleset: 'default', managedTables: [{ family: 'inet', name: 'nft_sync' }, { family: 'ip', name: 'lockout_x' }], startedAt: new Date().toISOString() };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(st));

  // The drift watcher sees nft_sync differ and heals: that is the restore, tried again.
  assert.equal(await (await Reconciler.open(opts)).reapplyInForce(), true);
  assert.equal(ns.nft(['list', 'table', 'inet', 'nft_sync']), confirmed);
  assert.doesNotMatch(ns.nft(['list', 'tables']), /lockout_x/, 'the heal must put back the confirmed revision over the unconfirmed one, tables and all');
});

test('nft refusing a revision while an older pending mark is left does not forget that mark: the next start restores over its tables', async (t) => {
  const f = await startServerFixture(t);
  f.push({ 'rulesets/default.json': DEFAULT }, 'default');
  const ns = createNetns(t, 'rf');
  const dir = makeStateDir(t);
  const client = await connect(t, f);
  const opts = { agent: 'host-1', ref: 'main', stateDir: dir, logger: quietLogger, nft: createNftRunner(ns.nftCommand) };
  assert.equal((await (await Reconciler.open(opts)).reconcile(client)).kind, 'applied');

  // As after a crash in the confirm window of a revision that added `ip lockout_x`, whose
  // restore at start failed: the table is in force and only the pending mark names it.
  ns.nft(['-f', '-'], 'table ip lockout_x {\n  chain in {\n    type filter hook input priority -10; policy drop;\n  }\n}\n');
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
  const older = { commit: 'a'.repeat(40), blob: 'b'.repeat(40), ruleset: 'default', managedTables: [{ family: 'inet', name: 'nft_sync' }, { family: 'ip', name: 'lockout_x' }], startedAt: new Date().toISOString() };
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...st, pending: older }));

  // The next revision passes the schema but nft refuses it (a jump to a chain that does not exist).
  const doc = JSON.parse(DEFAULT) as { nftables: unknown[] };
  doc.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ jump: { target: 'no_such_chain' } }] } });
  f.push({ 'rulesets/default.json': JSON.stringify(doc, null, 2) }, 'refused by nft');
  const outcome = await (await Reconciler.open(opts)).reconcile(client);
  assert.equal(outcome.kind === 'failed' && outcome.error.code, 'NFTSYNC_ERR_NFT_APPLY', JSON.stringify(outcome));
  const after = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { pending?: unknown; lastFailed?: { code: string } };
  assert.deepEqual(after.pending, older, 'the older pending mark, and the table it names, must survive the refusal');
  assert.equal(after.lastFailed?.code, 'NFTSYNC_ERR_NFT_APPLY');
  assert.match(ns.nft(['list', 'tables']), /lockout_x/);

  // The next start restores the confirmed revision over it: lockout_x goes.
  assert.equal(await (await Reconciler.open(opts)).recoverInterrupted(), true);
  assert.doesNotMatch(ns.nft(['list', 'tables']), /lockout_x/);
  assert.match(ns.nft(['list', 'tables']), /nft_sync/);
});
