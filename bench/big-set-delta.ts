/**
 * Bench rows for the minimal transaction (issue 10, point 4), without server or agent process:
 * a 1,000-element change (500 deleted, 500 added) to a 1,000,000-element ipv4_addr set.
 *
 *  - ours: the agent's apply step from the revision in force, the new revision having come as a
 *    delta against it (point 5), as an agent following a blocklist receives it: the ruleset in
 *    force (agent/reconcile/delta-base.ts: its bytes, verified a pass earlier, so not parsed
 *    again), the hint from the delta's line edits (agent/reconcile/delta-hint.ts), then
 *    applyRuleset with `inForce` and the hint: plan, `nft -j -f` of the delta, read-back 'auto',
 *    which is off at this size; in one namespace. The new revision is rebuilt from the delta and
 *    verified outside the timing (the fetch and plan steps do it: reported on their own rows);
 *  - raw nft: `nft -j -f` of the very same delta batch, prepared beforehand, in a second
 *    namespace holding the same ruleset (the floor). Goal: within 1.5x + 50 ms;
 *  - the same step planned without a hint (comparing the million elements): report only;
 *  - the first delta after a start or a full fetch: the layout of the bytes in force is found
 *    once by rendering them, in the verify step (agent/reconcile/delta-hint.ts): report only;
 *  - full reload: applyRuleset of the same new revision without `inForce` (the full replacement,
 *    as before point 4). Goal: the delta at least 10 times faster.
 *  - the agent's other work for the change, report only: rebuilding the bytes from the delta
 *    (wire client), their blob id, the verify step (blob id, then the ruleset built from the one
 *    in force where the delta proves it: verifyWithHint; against parsing the bytes, as without a
 *    delta), and saving the state with the 15 MB applied bytes (record step, after the confirm
 *    window);
 *  - bytes on the wire for the last change: the delta a fetch gets (point 5, shared/wire/
 *    ruleset-delta.ts) against the whole ruleset, one element a line. Goal: under 1%.
 *  - the server encoding a delta (shared/wire/ruleset-delta.ts encodeRulesetDelta) for the 1M
 *    set: 1,000 elements inserted in one block near the start and 1,000 deleted at random places,
 *    and 500 inserted and 500 deleted at random places; against the encoder before it walked the
 *    bytes (lines split into strings and compared one by one: lineWalkEncode below), measured in
 *    the same run. Goal: under 20 ms. Without namespaces: `node --import tsx
 *    bench/big-set-delta.ts encode` prints these rows alone.
 * Each run deletes 500 addresses at random places and inserts 500 new ones at random places (as
 * blocklist changes land), applied one after the other in both namespaces so they hold the same
 * set before every run. The rulesets are written as the server writes them (renderRuleset, one
 * element a line). Bounded: `runs` deltas (plus a first and one unhinted), 2 full reloads.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRuleset } from '../agent/reconcile/apply-ruleset.js';
import { deltaBase } from '../agent/reconcile/delta-base.js';
import { verifyWithHint } from '../agent/reconcile/delta-hint.js';
import { saveState } from '../agent/state/state-store.js';
import { createNftRunner } from '../host/nft-runner.js';
import { verifyRevision } from '../agent/reconcile/verify-revision.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { renderRuleset } from '../shared/ruleset/render-ruleset.js';
import type { Ruleset, TableRef } from '../shared/ruleset/ruleset-types.js';
import { planMinimalTransaction } from '../shared/ruleset/minimal-transaction.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta } from '../shared/wire/ruleset-delta.js';
import { median, type BenchRow } from './bench-row.js';

const ELEMENTS = 1_000_000;
const CHANGE = 500;
const OWNED: TableRef[] = [{ family: 'inet', name: 'nft_sync' }];
const COMMIT = 'c'.repeat(40);

export const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** The ruleset holding the addresses `elem` (the set the revision declares). */
export function revision(elem: string[]): Ruleset {
  return {
    nftables: [
      { table: { family: 'inet', name: 'nft_sync' } },
      { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } },
      { chain: { family: 'inet', table: 'nft_sync', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blk' } }, { drop: null }] } },
    ],
  } as Ruleset;
}

/**
 * The next revision's elements: CHANGE addresses at random places deleted, CHANGE new ones (from
 * `fresh` upwards) inserted at random places, as blocklist changes land (seeded: replayable).
 */
function changed(elem: readonly string[], fresh: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const rand = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const drop = new Set<number>();
  while (drop.size < CHANGE) drop.add(rand(elem.length));
  const insert = new Map<number, string>();
  while (insert.size < CHANGE) insert.set(rand(elem.length), address(fresh + insert.size));
  const out: string[] = [];
  for (let i = 0; i < elem.length; i++) {
    const add = insert.get(i);
    if (add !== undefined) out.push(add);
    if (!drop.has(i)) out.push(elem[i]!);
  }
  return out;
}

const since = (t0: number): number => performance.now() - t0;
const report = (figure: string, ours: number, baseline: number): BenchRow => ({ figure, ours, baseline, goal: 'report only', ok: true });

export async function benchBigSetDelta(runs: number, netns: (label: string) => string, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow[]> {
  // First, while the heap is small: a collection of the million-element rulesets held below would
  // land in these 10-20 ms timings.
  const encodeRows = benchDeltaEncode(9);
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-delta-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const agentNs = netns('delta');
  const rawNs = netns('deltaraw');
  const nft = createNftRunner(`ip netns exec ${agentNs} nft`);
  const raw = (file: string): void => void execFileSync('ip', ['netns', 'exec', rawNs, 'nft', '-j', '-f', file]);

  let prev = revision(Array.from({ length: ELEMENTS }, (_, i) => address(i)));
  let elem = (prev.nftables[1] as { set: { elem: string[] } }).set.elem;
  let fresh = ELEMENTS;
  const first = join(dir, 'first.json');
  writeFileSync(first, JSON.stringify(buildApplyTransaction(prev, [])));
  raw(first);
  await applyRuleset({ nft, ruleset: prev, verify: 'off' });
  // The bytes in force as the server wrote them, verified (hashed, parsed) when they were fetched.
  let prevBytes: Buffer = Buffer.from(renderRuleset(prev));
  let prevBlob = gitBlobId(prevBytes);
  prev = verifyRevision(prevBytes, prevBlob, { ruleset: 'default', commit: COMMIT }).ruleset;

  const ours: number[] = [];
  const floor: number[] = [];
  const side = { rebuild: [] as number[], blob: [] as number[], verify: [] as number[], parse: [] as number[], state: [] as number[] };
  let firstMs = 0;
  let firstVerifyMs = 0;
  let unhintedMs = 0;
  let wire = 0;
  let whole = 0;
  // Run 0: the first delta after a start (the layout is found); run `runs + 1`: without a hint.
  // The server's side first (the new revisions' bytes, the deltas it sends), so that its garbage
  // (rendering a million elements makes millions of strings) is not collected in the agent's timing.
  const sent: Buffer[] = [];
  let serverPrev = prevBytes;
  for (let i = 0; i <= runs + 1; i++) {
    elem = changed(elem, fresh, i + 1);
    fresh += CHANGE;
    const serverBytes = Buffer.from(renderRuleset(revision(elem)));
    const delta = encodeRulesetDelta(serverPrev, serverBytes);
    if (delta === undefined) throw new Error('bench: no delta');
    sent.push(delta);
    wire = delta.length;
    whole = serverBytes.length;
    serverPrev = serverBytes;
  }
  for (let i = 0; i <= runs + 1; i++) {
    const delta = sent[i]!;
    // The agent: fetch (rebuild from the delta), verify (blob id; the ruleset built from the one in
    // force where the delta proves it, else parsed) and find the hint, as the steps do it.
    let t = performance.now();
    const rebuilt = rebuildFromRulesetDelta(prevBytes, delta, 64 << 20);
    side.rebuild.push(since(t));
    const nextBytes = rebuilt.bytes;
    t = performance.now();
    const blob = gitBlobId(nextBytes);
    side.blob.push(since(t));
    const hinted = i <= runs;
    const where = { ruleset: 'default', commit: COMMIT };
    const fetched = { bytes: nextBytes, blob, delta: { base: prevBlob, ...(rebuilt.edits && { edits: rebuilt.edits }) } };
    t = performance.now();
    const { ruleset: next, hint } = hinted ? verifyWithHint({ bytes: prevBytes, blob: prevBlob, ruleset: prev }, fetched, where) : { ...verifyRevision(nextBytes, blob, where), hint: undefined };
    const verifyMs = since(t);
    if (i === 0) firstVerifyMs = verifyMs;
    else if (hinted) side.verify.push(verifyMs);
    else side.parse.push(verifyMs);
    if (hinted !== (hint !== undefined)) throw new Error(`bench: hint ${hint ? 'found' : 'missing'} in run ${i}`);
    const inForce = { bytes: prevBytes, blob: prevBlob, ruleset: 'default', commit: COMMIT, managedTables: OWNED };

    // The apply step, as apply-step.ts runs it.
    const t0 = performance.now();
    const base = deltaBase(inForce, { drifted: false, pendingLeftover: false });
    const res = await applyRuleset({ nft, ruleset: next, previouslyManaged: OWNED, inForce: base, ...(base && hint && { hint }) });
    const ms = since(t0);
    if (res.transaction.kind !== 'delta') throw new Error(`bench: the agent applied ${res.transaction.kind}: ${res.transaction.reason}`);
    if (hinted !== (res.transaction.hinted === true)) throw new Error(`bench: hinted ${String(res.transaction.hinted)} in run ${i}`);
    if (i === 0) firstMs = ms;
    else if (hinted) ours.push(ms);
    else unhintedMs = ms;

    // Raw nft: the very same delta batch, prepared beforehand.
    const deltaFile = join(dir, `delta-${i}.json`);
    const plan = planMinimalTransaction(prev, next, OWNED);
    if (plan.kind !== 'delta') throw new Error(`bench: expected a delta, got ${plan.reason}`);
    writeFileSync(deltaFile, JSON.stringify(plan.batch));
    const t1 = performance.now();
    raw(deltaFile);
    const rawMs = since(t1);
    if (i > 0 && hinted) floor.push(rawMs);

    t = performance.now();
    await saveState(join(dir, 'state'), { ref: 'main', ruleset: 'default', commit: COMMIT, blob, managedTables: OWNED }, nextBytes);
    side.state.push(since(t));
    prev = next;
    prevBytes = nextBytes;
    prevBlob = blob;
  }

  const full: number[] = [];
  for (let i = 0; i < 2; i++) {
    elem = changed(elem, fresh, 100 + i);
    fresh += CHANGE;
    const next = revision(elem);
    const t0 = performance.now();
    await applyRuleset({ nft, ruleset: next, previouslyManaged: OWNED });
    full.push(since(t0));
  }

  const o = median(ours);
  const r = median(floor);
  const f = median(full);
  const goal = 1.5 * r + 50;
  return [
    { figure: `1,000-element change, 1M set: minimal transaction vs raw nft of the delta (ms)`, ours: o, baseline: r, goal: `< 1.5x + 50 = ${goal.toFixed(0)}`, ok: o < goal },
    report(`1,000-element change, 1M set: the same planned without the delta's hint vs raw nft (ms)`, unhintedMs, r),
    report(`1,000-element change, 1M set: first delta after a start or a full fetch: apply step vs raw nft (ms)`, firstMs, r),
    { figure: `1,000-element change, 1M set: minimal transaction vs full reload (ms)`, ours: o, baseline: f, goal: `< full / 10 = ${(f / 10).toFixed(0)}`, ok: o < f / 10 },
    report(`1,000-element change, 1M set: agent rebuilds the bytes from the delta vs hashes them (blob id) (ms)`, median(side.rebuild), median(side.blob)),
    report(`1,000-element change, 1M set: verify step, ruleset built from the one in force vs parsed (blob id both) (ms)`, median(side.verify), median(side.parse)),
    report(`1,000-element change, 1M set: first delta after a start or a full fetch: verify step (layout found) vs parsed (ms)`, firstVerifyMs, median(side.parse)),
    report(`1,000-element change, 1M set: agent saves its state with the applied bytes vs raw nft (ms)`, median(side.state), r),
    { figure: `1,000-element change, 1M set: bytes on the wire, delta vs whole ruleset (KB)`, ours: wire / 1024, baseline: whole / 1024, goal: '< 1% of the whole', ok: wire < whole / 100 },
    ...encodeRows,
  ];
}

/**
 * The encoder as it was before it walked the bytes, kept here as the baseline (not in shared/):
 * both files split into strings, compared line by line, up to 32 lines ahead for a line inserted
 * or deleted in place. A block of more than 32 lines inserted sends it out of step for good: no
 * delta (undefined), after the whole walk.
 */
export function lineWalkEncode(base: Buffer, target: Buffer): Buffer | undefined {
  const MAGIC = 'nft-sync-delta 1';
  const a = base.toString('utf8').split('\n');
  const b = target.toString('utf8').split('\n');
  if (Buffer.byteLength(a.join('\n')) !== base.length || Buffer.byteLength(b.join('\n')) !== target.length) return undefined;
  const out: string[] = [MAGIC];
  let size = MAGIC.length;
  const budget = target.length / 2;
  let op = '';
  let count = 0;
  let inserted: string[] = [];
  const flush = (): void => {
    if (count === 0) return;
    out.push(`${op} ${count}`);
    size += op.length + 2 + String(count).length;
    if (op === '+') for (const l of inserted) out.push(l);
    inserted = [];
    count = 0;
  };
  const emit = (kind: '=' | '-' | '+', line?: string): void => {
    if (op !== kind) flush();
    op = kind;
    count++;
    if (line !== undefined) {
      inserted.push(line);
      size += Buffer.byteLength(line) + 1;
    }
  };
  let i = 0;
  let j = 0;
  walk: while (i < a.length && j < b.length) {
    if (size > budget) return undefined;
    if (a[i] === b[j]) {
      emit('=');
      i++;
      j++;
      continue;
    }
    for (let d = 1; d <= 32; d++) {
      if (i + d < a.length && a[i + d] === b[j]) {
        for (let k = 0; k < d; k++) emit('-');
        i += d;
        continue walk;
      }
      if (j + d < b.length && a[i] === b[j + d]) {
        for (let k = 0; k < d; k++) emit('+', b[j + k]);
        j += d;
        continue walk;
      }
    }
    emit('-');
    i++;
    emit('+', b[j++]);
  }
  for (; i < a.length; i++) emit('-');
  for (; j < b.length; j++) emit('+', b[j]);
  flush();
  if (size > budget) return undefined;
  return Buffer.from(`${out.join('\n')}\n`);
}

/**
 * The server's encode time for a 1,000-element change to the 1M set, two shapes (see the header),
 * against lineWalkEncode. Each delta is checked to rebuild the new bytes; `runs` timings of ours
 * (median), 2 of the baseline. No namespaces.
 */
export function benchDeltaEncode(runs: number): BenchRow[] {
  const elem = Array.from({ length: ELEMENTS }, (_, i) => address(i));
  const base = Buffer.from(renderRuleset(revision(elem)));
  let x = 20261203;
  const rand = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const block = [...elem];
  block.splice(10, 0, ...Array.from({ length: 2 * CHANGE }, (_, k) => address(2 * ELEMENTS + k)));
  for (let k = 0; k < 2 * CHANGE; k++) block.splice(2 * CHANGE + 10 + rand(block.length - 2 * CHANGE - 10), 1);
  const rows: BenchRow[] = [];
  const shapes: Array<[string, string[]]> = [
    ['1,000 inserted in one block near the start, 1,000 deleted at random', block],
    ['500 inserted, 500 deleted at random', changed(elem, 3 * ELEMENTS, 99)],
  ];
  const targets = shapes.map(([, next]) => Buffer.from(renderRuleset(revision(next))));
  // Ours first for every shape, then the baseline: its garbage (millions of strings) is not
  // collected in our timings.
  const ours = targets.map((target, k) => {
    const times: number[] = [];
    let delta: Buffer | undefined;
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now();
      delta = encodeRulesetDelta(base, target);
      if (i >= 2) times.push(since(t0)); // the first two warm the JIT up
    }
    if (delta === undefined || !rebuildFromRulesetDelta(base, delta, 64 << 20).bytes.equals(target)) throw new Error(`bench: no delta or a wrong one (${shapes[k]![0]})`);
    return { ms: median(times), delta };
  });
  const kb = (d: Buffer | undefined): string => (d === undefined ? 'none' : `${(d.length / 1024).toFixed(0)} KB`);
  targets.forEach((target, k) => {
    const old: number[] = [];
    let oldDelta: Buffer | undefined;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      oldDelta = lineWalkEncode(base, target);
      old.push(since(t0));
    }
    const { ms, delta } = ours[k]!;
    rows.push({ figure: `1M-line ruleset, ${shapes[k]![0]}: server encodes the delta (${kb(delta)}) vs the line-by-line walk (${kb(oldDelta)}) (ms)`, ours: ms, baseline: median(old), goal: '< 20', ok: ms < 20 });
  });
  return rows;
}

/** `node --import tsx bench/big-set-delta.ts [runs]`: these rows alone (`encode [runs]`: the encode rows alone, no namespaces). */
if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'encode') {
  for (const row of benchDeltaEncode(Number(process.argv[3] ?? 9))) console.log(JSON.stringify(row));
} else if (import.meta.url === `file://${process.argv[1]}`) {
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
