/**
 * A signed fleet following releases (--track-tags with --allowed-signers): a tag with a bad
 * signature is refused; a properly signed HIGHER tag on the very same commit must then be
 * applied at once, by the running daemon, without a restart. The server must announce the new
 * tag even though the commit it points at did not change. Meanwhile the status shows the revision
 * in force with its own tag, not the refused one. Real server, git, ssh signatures, nft.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runAgentDaemon } from '../../../agent/agent-daemon.js';
import { createNftRunner } from '../../../host/nft-runner.js';
import type { ReconcileOutcome } from '../../../agent/reconcile/reconciler.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeSigner, tag } from '../../helpers/signing-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');


test('after a badly signed tag is refused, a properly signed higher tag on the same commit is applied', async (t) => {
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'sametag');
  const keys = makeTempDir(t, 'nft-sync-keys-');
  const signer = makeSigner(keys, 'release');
  const stranger = makeSigner(keys, 'stranger');
  const inForcePort = () => Number(/tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']))?.[1]);

  const first = fx.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2501') }, 'port 2501');
  tag(fx.clone, 'v1.0.0', signer);
  fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.0.0']);

  const outcomes: ReconcileOutcome[] = [];
  let wake = () => {};
  const ac = new AbortController();
  const done = runAgentDaemon(
    {
      host: fx.host, port: fx.port, agent: 'host-1', ref: 'v*', track: true, nft: createNftRunner(ns.nftCommand),
      stateDir: makeTempDir(t, 'nft-sync-state-'), logger: quietLogger, allowedSigners: signer.allowedSigners, watchDrift: false,
      onOutcome: (o) => (outcomes.push(o), wake()),
    },
    ac.signal,
  );
  t.after(async () => (ac.abort(), await done));
  const until = async (what: string, pred: (o: ReconcileOutcome) => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!outcomes.some(pred)) {
      if (Date.now() > deadline) assert.fail(`${what}: not seen in ${JSON.stringify(outcomes.map((o) => o.kind === 'failed' ? o.error.code : o.kind))}`);
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 200)));
    }
  };
  await until('v1.0.0 applied', (o) => o.kind === 'applied');
  assert.equal(inForcePort(), 2501);

  const bad = fx.commit({ 'rulesets/default.json': DEFAULT.replace(/"right": 22\b/, '"right": 2502') }, 'port 2502');
  tag(fx.clone, 'v1.1.0', stranger);
  fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.1.0']);
  await until('v1.1.0 refused', (o) => o.kind === 'failed' && o.error.code === 'NFTSYNC_ERR_VERIFY_SIGNATURE');
  assert.equal(inForcePort(), 2501);
  // The status (reported before onOutcome) shows the revision in force with ITS tag, not the refused one.
  const reported = fx.server.wire.registry.get('host-1')!.status!;
  assert.equal(reported.attemptedCommit, bad);
  assert.equal(reported.commit, first);
  assert.equal(reported.tag, 'v1.0.0');

  // The same commit, now released properly under a higher tag: only the tag is pushed.
  const mark = outcomes.length;
  tag(fx.clone, 'v1.2.0', signer, { target: bad });
  fx.git(['push', '-q', 'origin', 'refs/tags/v1.2.0']);
  await until('v1.2.0 applied', (o) => outcomes.indexOf(o) >= mark && o.kind === 'applied' && o.commit === bad);
  assert.equal(inForcePort(), 2502);
  assert.equal(fx.server.wire.registry.get('host-1')!.status!.tag, 'v1.2.0');
});
