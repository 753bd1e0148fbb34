/**
 * Bench rows for the minimal transaction (issue 10, point 4), without server or agent process:
 * a 1,000-element change (500 deleted, 500 added) to a 1,000,000-element ipv4_addr set.
 *
 *  - ours: the agent's apply step from the revision in force (agent/delta-base.ts: the stored
 *    bytes re-hashed and parsed, then applyRuleset with `inForce`: plan, `nft -j -f` of the delta,
 *    read-back 'auto', which is off at this size), in one namespace;
 *  - raw nft: `nft -j -f` of the very same delta batch, prepared beforehand, in a second
 *    namespace holding the same ruleset (the floor). Goal: within 1.5x + 50 ms;
 *  - full reload: applyRuleset of the same new revision without `inForce` (the full replacement,
 *    as before point 4). Goal: the delta at least 10 times faster.
 * Each run changes different elements, applied one after the other in both namespaces so they
 * hold the same set before every run. Bounded: `runs` deltas, 2 full reloads.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRuleset } from '../agent/apply-ruleset.js';
import { deltaBase } from '../agent/delta-base.js';
import { createNftRunner } from '../host/nft-runner.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import type { Ruleset, TableRef } from '../shared/ruleset/ruleset-types.js';
import { planMinimalTransaction } from '../shared/ruleset/minimal-transaction.js';
import { median, type BenchRow } from './bench-row.js';

const ELEMENTS = 1_000_000;
const CHANGE = 500;
const OWNED: TableRef[] = [{ family: 'inet', name: 'nft_sync' }];

/** The ruleset holding addresses `from` .. `from + ELEMENTS - 1` (10.0.0.0 upwards), in order. */
function revision(from: number): Ruleset {
  const elem: string[] = [];
  for (let i = from; i < from + ELEMENTS; i++) elem.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return {
    nftables: [
      { table: { family: 'inet', name: 'nft_sync' } },
      { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } },
      { chain: { family: 'inet', table: 'nft_sync', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blk' } }, { drop: null }] } },
    ],
  } as Ruleset;
}

export async function benchBigSetDelta(runs: number, netns: (label: string) => string, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-delta-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const agentNs = netns('delta');
  const rawNs = netns('deltaraw');
  const nft = createNftRunner(`ip netns exec ${agentNs} nft`);
  const raw = (file: string): void => void execFileSync('ip', ['netns', 'exec', rawNs, 'nft', '-j', '-f', file]);

  let prev = revision(0);
  const first = join(dir, 'first.json');
  writeFileSync(first, JSON.stringify(buildApplyTransaction(prev, [])));
  raw(first);
  await applyRuleset({ nft, ruleset: prev, verify: 'off' });

  const ours: number[] = [];
  const floor: number[] = [];
  for (let i = 1; i <= runs; i++) {
    // Each revision shifts the range by CHANGE: the lowest CHANGE addresses go, CHANGE new ones come.
    const next = revision(i * CHANGE);
    const prevBytes = Buffer.from(JSON.stringify(prev));
    const inForce = { bytes: prevBytes, blob: gitBlobId(prevBytes), ruleset: 'default', commit: 'bench', managedTables: OWNED };
    const deltaFile = join(dir, `delta-${i}.json`);
    const plan = planMinimalTransaction(prev, next, OWNED);
    if (plan.kind !== 'delta') throw new Error(`bench: expected a delta, got ${plan.reason}`);
    writeFileSync(deltaFile, JSON.stringify(plan.batch));

    const t0 = performance.now();
    const res = await applyRuleset({ nft, ruleset: next, previouslyManaged: OWNED, inForce: deltaBase(inForce, { drifted: false, pendingLeftover: false }) });
    ours.push(performance.now() - t0);
    if (res.transaction.kind !== 'delta') throw new Error(`bench: the agent applied ${res.transaction.kind}: ${res.transaction.reason}`);

    const t1 = performance.now();
    raw(deltaFile);
    floor.push(performance.now() - t1);
    prev = next;
  }

  const full: number[] = [];
  for (let i = 0; i < 2; i++) {
    const next = revision((runs + 1 + i) * CHANGE);
    const t0 = performance.now();
    await applyRuleset({ nft, ruleset: next, previouslyManaged: OWNED });
    full.push(performance.now() - t0);
  }

  const o = median(ours);
  const r = median(floor);
  const f = median(full);
  const goal = 1.5 * r + 50;
  return [
    { figure: `1,000-element change, 1M set: minimal transaction vs raw nft of the delta (ms)`, ours: o, baseline: r, goal: `< 1.5x + 50 = ${goal.toFixed(0)}`, ok: o < goal },
    { figure: `1,000-element change, 1M set: minimal transaction vs full reload (ms)`, ours: o, baseline: f, goal: `< full / 10 = ${(f / 10).toFixed(0)}`, ok: o < f / 10 },
  ];
}

/** `node --import tsx bench/big-set-delta.ts [runs]`: these rows alone. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const cleanups: Array<() => void | Promise<void>> = [];
  const netns = (label: string): string => {
    const name = `nsb-${label}-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name]);
    cleanups.push(() => void execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }));
    return name;
  };
  try {
    for (const row of await benchBigSetDelta(Number(process.argv[2] ?? 5), netns, cleanups)) console.log(JSON.stringify(row));
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}
