/**
 * Property: for any two revisions A and B, applying A and then the minimal transaction from A to
 * B leaves the same ruleset as applying A and then the full replacement by B. Checked with the
 * real nft 1.0.6 in two throwaway namespaces per run, over bounded runs of generated pairs
 * (tests/helpers/revision-gen.ts: interval sets, maps, concatenations, timeouts, chains and
 * tables coming and going). Listings are compared canonicalised (shared/ruleset-normalise.ts:
 * handles, element order and `expires` left out). The delta must apply as planned: no fallback.
 * The revisions are written as the server writes them (one element a line), and where the line
 * delta between them gives a hint (shared/ruleset/element-hint.ts) the plan is made from it, as
 * the agent does after a delta fetch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildApplyTransaction } from '../../../../shared/ruleset/apply-plan.js';
import { normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import { managedTables, parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { planMinimalTransaction } from '../../../../shared/ruleset/minimal-transaction.js';
import { elementHint, type ElementHint } from '../../../../shared/ruleset/element-hint.js';
import { elementLayout } from '../../../../shared/ruleset/element-layout.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { revisionPair, revisionRuleset } from '../../../helpers/revision-gen.js';

const RUNS = Number(process.env.MINTX_RUNS ?? 80);

const dir = mkdtempSync(join(tmpdir(), 'mintx-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Apply a batch with nft (from a file: nft 1.0.6 cannot read `-f -` from a pipe). */
function load(ns: Netns, batch: object): void {
  const file = join(dir, `${ns.name}.json`);
  writeFileSync(file, JSON.stringify(batch));
  ns.nft(['-j', '-f', file]);
}

/** The hint the line delta from `bytesA` to `bytesB` gives, as an agent finds it after a delta fetch. */
function hintOf(bytesA: Buffer, a: Ruleset, bytesB: Buffer, b: Ruleset): ElementHint | undefined {
  const d = encodeRulesetDelta(bytesA, bytesB);
  const layout = elementLayout(bytesA, a);
  if (d === undefined || layout === undefined) return undefined;
  const { edits } = rebuildFromRulesetDelta(bytesA, d, 1 << 24);
  return edits && elementHint(layout, a, b, edits)?.hint;
}

function listed(ns: Netns): string {
  const doc = JSON.parse(ns.nft(['-j', 'list', 'ruleset'])) as Ruleset;
  return JSON.stringify(normaliseRuleset(doc));
}

test('minimal transaction and full replacement leave the same ruleset (real nft, generated pairs)', (t) => {
  const delta = createNetns(t, 'mtxd');
  const full = createNetns(t, 'mtxf');
  const kinds = { hinted: 0, delta: 0, full: 0, empty: 0, patched: 0, elements: 0, refilled: 0, chains: 0, deletes: 0, timed: 0, concatInterval: 0 };
  fc.assert(
    fc.property(revisionPair, ([ca, cb]) => {
      const bytesA = Buffer.from(renderRuleset(revisionRuleset(ca)));
      const bytesB = Buffer.from(renderRuleset(revisionRuleset(cb)));
      const a = parseRuleset(bytesA);
      const b = parseRuleset(bytesB);
      const owned = managedTables(a);
      for (const ns of [delta, full]) {
        ns.nft(['flush', 'ruleset']);
        load(ns, buildApplyTransaction(a, []));
      }
      load(full, buildApplyTransaction(b, owned));
      const plan = planMinimalTransaction(a, b, owned, hintOf(bytesA, a, bytesB, b));
      kinds[plan.kind]++;
      if (plan.hinted) kinds.hinted++;
      if (plan.kind === 'delta') {
        if (plan.batch.nftables.length === 0) kinds.empty++;
        else load(delta, plan.batch);
        if (plan.summary.tablesPatched.length > 0) kinds.patched++;
        if (plan.summary.elementsAdded + plan.summary.elementsDeleted > 0) kinds.elements++;
        if (plan.summary.setsRefilled.length > 0) kinds.refilled++;
        if (plan.summary.chainsChanged.length > 0) kinds.chains++;
        const text = JSON.stringify(plan.batch);
        if (text.includes('{"delete":{"element"')) kinds.deletes++;
        if (/"element":\{"family":"inet","table":"mx","name":"to"/.test(text)) kinds.timed++;
        if (/"element":\{"family":"inet","table":"mx","name":"ci"/.test(text)) kinds.concatInterval++;
      } else {
        load(delta, plan.batch);
      }
      assert.equal(listed(delta), listed(full), `plan: ${plan.kind} (${plan.reason})`);
    }),
    { numRuns: RUNS, seed: Number(process.env.MINTX_SEED ?? 20261202), endOnFailure: true },
  );
  t.diagnostic(JSON.stringify(kinds));
  // The property is only worth something if the delta path is taken, and in its several forms.
  assert.ok(kinds.patched > RUNS / 3, JSON.stringify(kinds));
  assert.ok(kinds.elements > 0 && kinds.chains > 0 && kinds.refilled > 0 && kinds.deletes > 0, JSON.stringify(kinds));
  assert.ok(kinds.timed > 0 && kinds.concatInterval > 0, JSON.stringify(kinds));
  assert.ok(kinds.hinted > 0, JSON.stringify(kinds));
});
