/**
 * Numbers above 2^53 in a ruleset reach the host exactly as written or not at all: the agent
 * refuses a revision whose number JavaScript would round (naming its JSON pointer) before nft
 * runs, and applies one that survives the trip, with the real server and the real nft.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNftRunner, type NftRunner } from '../../../host/nft-runner.js';
import { Reconciler } from '../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../agent/wire/wire-client.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeStateDir } from '../../helpers/temp-dir.js';

/** A ruleset whose one rule drops traffic over a quota of `val` bytes (the token as written). */
function quotaRuleset(val: string): string {
  return `{
  "nftables": [
    { "table": { "family": "inet", "name": "q" } },
    { "chain": { "family": "inet", "table": "q", "name": "c" } },
    { "rule": { "family": "inet", "table": "q", "chain": "c", "expr": [ { "quota": { "val": ${val}, "val_unit": "bytes", "inv": true } }, { "drop": null } ] } }
  ]
}
`;
}

/** The real runner, counting the calls that change the ruleset. */
function countingRunner(command: string): NftRunner & { changes: number } {
  const real = createNftRunner(command);
  const spy = {
    ...real,
    changes: 0,
    async applyJson(json: object | string | Buffer) {
      spy.changes++;
      return real.applyJson(json);
    },
    async checkJson(json: object | string | Buffer) {
      spy.changes++;
      return real.checkJson(json);
    },
  };
  return spy;
}


test('the agent refuses a quota of 9007199254740993 with its JSON pointer, without running nft; 1152921504606847000 is applied exactly', async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'num');
  const nft = countingRunner(ns.nftCommand);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'host-1' });
  t.after(() => client.close());
  const reconciler = await Reconciler.open({ agent: 'host-1', ref: 'main', ruleset: 'q', stateDir: makeStateDir(t), logger: quietLogger, nft });

  f.push({ 'rulesets/q.json': quotaRuleset('9007199254740993') });
  const before = ns.nft(['list', 'ruleset']);
  const refused = await reconciler.reconcile(client);
  assert.equal(refused.kind, 'failed');
  assert.ok(refused.kind === 'failed');
  assert.equal(refused.error.code, 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT');
  assert.equal(refused.error.data?.pointer, '/nftables/2/rule/expr/0/quota/val');
  assert.equal(nft.changes, 0, 'nft was never asked to change anything');
  assert.equal(ns.nft(['list', 'ruleset']), before);

  f.push({ 'rulesets/q.json': quotaRuleset('1152921504606847000') });
  const applied = await reconciler.reconcile(client);
  assert.equal(applied.kind, 'applied', JSON.stringify(applied));
  assert.match(ns.nft(['list', 'table', 'inet', 'q']), /quota over 1152921504606847000 bytes drop/);
});
