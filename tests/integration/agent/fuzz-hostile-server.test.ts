/**
 * A bounded sample of the hostile answers of tests/unit/agent/fuzz-hostile-server.test.ts sent
 * by a scripted server (fake: the real one never misbehaves on purpose) to a real WireClient and
 * Reconciler applying with the real nft in a throwaway namespace that holds the agent's revision
 * and fail2ban's and Docker's tables. No answer may crash the agent or change the host.
 *
 * Delta answers (the agent offers the bytes it has): malformed, cut short, claiming a size beyond
 * --max-ruleset-bytes or another length, against a base it does not have, or rebuilding bytes of
 * another blob id. The agent must never apply them: it fetches the whole ruleset instead (which
 * the server answers with `unchanged`, or with another hostile answer), or fails with a code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { createNftRunner } from '../../../host/nft-runner.js';
import { Reconciler } from '../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../agent/wire/wire-client.js';
import { NftSyncError } from '../../../shared/errors.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { encodeMessage } from '../../../shared/wire/message-codec.js';
import { commandRuleset, deltaFrame, deltaLie, hostileDelta, rulesetBytes, rulesetFrame, validRuleset } from '../../helpers/fuzz-server-answers.js';
import { startHostileServer } from '../../helpers/hostile-server.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger } from '../../helpers/server-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const SAMPLE = Number(process.env.NFT_SYNC_FUZZ_SAMPLE ?? 120);
const MAX_RULESET = 256 * 1024;
const DEFAULT = readFileSync('repo-template/rulesets/default.json');

/** What the server does with one fetch: bytes to send, and whether to close after them. */
interface Answer {
  kind: string;
  frame: (id: number) => Buffer;
  close?: boolean;
  /** A delta answer: sent to a fetch that asks for deltas; `frame` then answers the full fetch that follows. */
  delta?: (id: number) => Buffer;
}

const foreign = { nftables: [{ table: { family: 'inet', name: 'f2b-table' } }, { chain: { family: 'inet', table: 'f2b-table', name: 'mine' } }] };

const answers: fc.Arbitrary<Answer> = fc.oneof(
  fc.nat().map((n) => ({ kind: 'oversized', frame: (id: number) => rulesetFrame(id, Buffer.alloc(MAX_RULESET + 1 + (n % 65536), 0x20)) })),
  fc.tuple(validRuleset, fc.nat()).map(([r, n]) => ({ kind: 'truncated', close: true, frame: (id: number) => rulesetFrame(id, rulesetBytes(r)).subarray(0, 4 + (n % 200)) })),
  fc.constantFrom(0x7fff_ffff, 0xffff_ffff, MAX_RULESET * 2).map((len) => ({
    kind: 'lying length',
    close: true,
    frame: () => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(len, 0);
      return b;
    },
  })),
  fc.tuple(validRuleset, fc.nat()).map(([r, pos]) => ({
    kind: 'blob mismatch',
    frame: (id: number) => {
      const bytes = rulesetBytes(r);
      const sent = Buffer.from(bytes);
      sent[pos % sent.length]! ^= 0x01;
      return rulesetFrame(id, sent, gitBlobId(bytes));
    },
  })),
  commandRuleset.map((r) => ({ kind: `schema: ${r.kind}`, frame: (id: number) => rulesetFrame(id, rulesetBytes(r)) })),
  // Valid rulesets that also declare fail2ban's table, which exists on the host.
  validRuleset.map((r) => ({ kind: 'foreign table', frame: (id: number) => rulesetFrame(id, rulesetBytes({ nftables: [...r.nftables.filter((i) => !('metainfo' in i) && JSON.stringify(i).indexOf('f2b-table') === -1), ...foreign.nftables] })) })),
  fc.constantFrom('9007199254740993', '18446744073709551615').map((v) => ({
    kind: 'inexact number',
    frame: (id: number) => rulesetFrame(id, Buffer.from(`{"nftables":[{"table":{"family":"inet","name":"q"}},{"chain":{"family":"inet","table":"q","name":"c"}},{"rule":{"family":"inet","table":"q","chain":"c","expr":[{"quota":{"val":${v},"val_unit":"bytes"}}]}}]}`)),
  })),
  fc.integer({ min: 200, max: 100_000 }).map((depth) => ({ kind: 'deep nesting', frame: (id: number) => rulesetFrame(id, Buffer.from(`{"nftables":[${'['.repeat(depth)}${']'.repeat(depth)}]}`)) })),
  fc.nat().map((n) => ({
    kind: 'header bomb',
    close: true,
    frame: (id: number) => {
      const header = Buffer.from(JSON.stringify({ type: 'pong', id, pad: ' '.repeat(70_000 + (n % 1000)) }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(header.length, 0);
      return Buffer.concat([len, header]);
    },
  })),
  fc.constant({ kind: 'wrong type', frame: (id: number) => encodeMessage({ type: 'ack', id }) }),
  // Deltas that lie, against the bytes the agent has; the full fetch after them is answered
  // `unchanged` (the agent keeps what it has) or with a bad blob id (it fails).
  fc.tuple(validRuleset, deltaLie.filter((l) => l.how !== 'none'), fc.boolean()).map(([r, lie, unchanged]) => {
    const d = hostileDelta(DEFAULT, rulesetBytes(r), lie, MAX_RULESET);
    return {
      kind: `delta ${lie.how}`,
      delta: (id: number) => deltaFrame(id, d.body, d),
      frame: unchanged ? (id: number) => encodeMessage({ type: 'unchanged', id, ref: 'main', ruleset: 'default', commit: 'c'.repeat(40), blob: gitBlobId(DEFAULT) }) : (id: number) => rulesetFrame(id, rulesetBytes(r), 'e'.repeat(40)),
    };
  }),
  // An honest delta to a ruleset the schema refuses: rebuilt, then refused by the checks.
  commandRuleset.map((r) => {
    const d = hostileDelta(DEFAULT, rulesetBytes(r), { how: 'none' }, MAX_RULESET);
    return { kind: `delta to schema: ${r.kind}`, delta: (id: number) => deltaFrame(id, d.body, d), frame: (id: number) => rulesetFrame(id, rulesetBytes(r)) };
  }),
);

test(`(hostile server) ${SAMPLE} hostile answers to a real agent applying with real nft: none crashes it or changes the host`, async (t) => {
  const ns = createNetns(t, 'fuzz');
  const dir = makeTempDir(t, 'nft-sync-state-');
  ns.nft(['-f', '-'], 'table inet f2b-table {\n chain f2b-chain {\n  type filter hook input priority filter - 1; policy accept;\n  tcp dport 22 reject\n }\n}\ntable ip nat {\n chain POSTROUTING {\n  type nat hook postrouting priority srcnat; policy accept;\n }\n}\n');

  let current: Answer = { kind: 'the agent\'s own revision', frame: (id) => rulesetFrame(id, DEFAULT) };
  let fullAfterDelta = 0;
  let deltaAsked = 0;
  const server = await startHostileServer(t, async (c) => {
    let deltaSent = false;
    await c.handshake();
    for (;;) {
      const m = await c.next();
      if (m.type === 'ping') await c.send(encodeMessage({ type: 'pong', id: m.id }));
      else if (m.type === 'report') await c.send(encodeMessage({ type: 'ack', id: m.id }));
      else if (m.type === 'fetch') {
        const a = current;
        if (m.delta === true) deltaAsked++;
        if (a.delta && m.delta === true) {
          deltaSent = true;
          await c.send(a.delta(m.id));
          continue;
        }
        if (deltaSent) fullAfterDelta++;
        deltaSent = false;
        await c.send(a.frame(m.id));
        if (a.close) c.socket.end();
      }
    }
  });
  const nft = createNftRunner(ns.nftCommand);
  const reconciler = await Reconciler.open({ agent: 'fuzz', ref: 'main', ruleset: 'default', stateDir: dir, logger: quietLogger, nft });
  const pass = async () => {
    const client = await WireClient.connect({ host: server.host, port: server.port, agent: 'fuzz', maxRulesetBytes: MAX_RULESET });
    try {
      // retryFailed: an answer seen before is judged afresh, not skipped as already failed.
      return await reconciler.reconcile(client, { retryFailed: true });
    } finally {
      client.close();
    }
  };
  const first = await pass();
  assert.equal(first.kind, 'applied', JSON.stringify(first));
  const baseline = ns.nft(['list', 'ruleset']);

  const kinds = new Map<string, number>();
  for (const a of fc.sample(answers, { numRuns: SAMPLE, seed: 77 })) {
    current = a;
    const fullBefore = fullAfterDelta;
    const outcome = await pass();
    const delta = a.kind.startsWith('delta ') && !a.kind.startsWith('delta to schema');
    if (delta) {
      // A lying delta is never used: the whole ruleset was fetched after it, and its answer decided.
      assert.equal(fullAfterDelta, fullBefore + 1, `${a.kind}: no full fetch followed the refused delta`);
      assert.ok(outcome.kind === 'failed' || outcome.kind === 'unchanged', `${a.kind}: ${JSON.stringify(outcome).slice(0, 300)}`);
    } else assert.equal(outcome.kind, 'failed', `${a.kind}: ${JSON.stringify(outcome).slice(0, 300)}`);
    const code = outcome.kind === 'failed' ? outcome.error.code : outcome.kind;
    assert.ok(outcome.kind !== 'failed' || outcome.error instanceof NftSyncError);
    assert.equal(ns.nft(['list', 'ruleset']), baseline, `${a.kind} changed the host (${code})`);
    const k = `${a.kind.replace(/^(delta to )?schema: .*/, '$1schema')} -> ${code}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  t.diagnostic(JSON.stringify(Object.fromEntries(kinds)));
  assert.ok(deltaAsked > 0 && [...kinds.keys()].some((k) => k.startsWith('delta ')), 'the agent asked for deltas and got hostile ones');
  // The agent still works: its own revision again is 'unchanged' or applied, and the host is as before.
  current = { kind: 'own', frame: (id) => rulesetFrame(id, DEFAULT) };
  const last = await pass();
  assert.ok(last.kind === 'applied' || last.kind === 'unchanged', JSON.stringify(last));
  assert.equal(ns.nft(['list', 'ruleset']), baseline);
});
