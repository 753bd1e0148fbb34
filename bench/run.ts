/**
 * `npm run bench`: nft-sync's figures next to their baselines, measured in the same run, in
 * throwaway network namespaces (needs root). Prints one table; medians. `npm run bench -- --only
 * push,rss` runs only the benches named (see BENCHES).
 *
 *  - apply: the agent's path (verify blob id and schema, build the transaction, one nft call)
 *    against raw `nft -j -f` of the same JSON; and the same with the read-back the agent does
 *    after the ruleset is in force. Goal: within 1.2x of raw nft plus 50 ms.
 *  - building a 10,000-rule transaction (pure CPU) against a deep copy of its items
 *    (bench/apply-plan.ts). Goal: under 50 ms.
 *  - 100 matches of a pathological agent glob against 100 of the plain `*b` on the same name
 *    (bench/agent-glob.ts). Goal: under 500 ms.
 *  - push to applied (bench/push-to-applied.ts): `git push` of a one-rule change to main until
 *    the agent that follows main has it in force, with the pre-receive validation on as users
 *    run it, against a bare `git push` plus a raw `nft -j -f`. Goal: under 150 ms median.
 *  - API latency (bench/api-latency.ts): a ruleset read, a diff and a ruleset's revisions over
 *    a real socket, against in-process baselines.
 *  - TLS: a fresh mutual-TLS connection plus one fetch of default.json, against the same over
 *    plain TCP (bench/tls-fetch.ts). Goal: under 20 ms median.
 *  - signed release: fetch with the release proof, checked by the agent (hashes, chain,
 *    ssh-keygen -Y verify), against a plain fetch (bench/signed-fetch.ts). Goal: under 50 ms.
 *  - drift to self-healed: see bench/drift-heal.ts. Goal: under a second.
 *  - publish latency: a rule added by hand on host A until in force on host B, both agents
 *    --publish on main (bench/publish-latency.ts). Goal: under 1 s plus the quiet period.
 *  - hostile client: a well-behaved agent's fetch of default.json while a hostile client sends
 *    the heaviest frames on the most connections allowed, p99 against the same fetch with no
 *    attack; and the server process's RSS then (bench/hostile-client.ts). Goals: p99 under
 *    50 ms, RSS under 300 MB.
 *  - idle RSS of the agent and of the server, next to a bare node process (bench/idle-rss.ts).
 *    Goal: the agent under 60 MB.
 *  - a 1,000,000-element set: the agent's apply step against raw nft, CPU over a quiet period
 *    (15 s here; `node --import tsx bench/big-set-drift.ts --quiet 60` for the full minute),
 *    drift reports in it, and a hand-added element to healed: see bench/big-set-drift.ts.
 *  - a 1,000-element change to that set as the minimal transaction, against raw nft of the same
 *    delta and against the full reload, and the bytes of its delta on the wire: see
 *    bench/big-set-delta.ts; and the agent's whole pass for it, from the server's delta answer to
 *    the applied outcome, against raw nft of the delta: bench/delta-answer-to-applied.ts.
 *  - a 1,000-element change of a 1,000,000-element set through the element API: the git objects
 *    it writes before gc and the repository's growth after gc, against the same change to a
 *    one-line `nft -j list` file (bench/element-change-storage.ts). Goals: under 1 MiB and under
 *    100 KiB.
 *  - replicas: failover time when a server is killed (an agent on `--server A,B`), and a
 *    replica's lag after a push to the primary (bench/replica-failover.ts). Goals: under 5 s
 *    and under 1 s.
 *  - staged rollouts: the time a rollout of 200 simulated agents in three waves spends beyond its
 *    hold times, against one push's fan-out to the same agents without a rollout
 *    (bench/rollout-overhead.ts). Reported.
 *  - fan-out (bench/fanout.ts): 1,000 and 10,000 simulated agents (real sockets, no nft) holding
 *    a push, their lockout-guard checks at the cap, server RSS, fetch throughput against a raw
 *    echo, API p99 during a reconnect storm, and 10,000 agents over mutual TLS. Alone:
 *    `npm run bench -- --fanout`.
 */
import { setFlagsFromString } from 'node:v8';
import { DAEMON_V8_FLAGS, SERVER_V8_FLAGS } from '../host/daemon-v8-flags.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { applyRuleset } from '../agent/reconcile/apply-ruleset.js';
import { createNftRunner } from '../host/nft-runner.js';
import { verifyRevision } from '../agent/reconcile/verify-revision.js';
import { benchApiLatency } from './api-latency.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { initRepository } from '../server/git/init-repository.js';
import { validatePush } from '../server/push/push-validator.js';
import { benchApplyPlan } from './apply-plan.js';
import { benchAgentGlob } from './agent-glob.js';
import { benchSignedFetch } from './signed-fetch.js';
import { benchTlsFetch } from './tls-fetch.js';
import { benchDriftHeal } from './drift-heal.js';
import { benchHostileClient } from './hostile-client.js';
import { benchIdleRss } from './idle-rss.js';
import { benchSetChangeToApplied } from './set-change-to-applied.js';
import { benchDeltaAnswerToApplied } from './delta-answer-to-applied.js';
import { benchBigSetDelta } from './big-set-delta.js';
import { benchBigSetDrift } from './big-set-drift.js';
import { benchElementStorage } from './element-change-storage.js';
import { benchPushToApplied } from './push-to-applied.js';
import { benchFailover, benchReplicaLag } from './replica-failover.js';
import { benchPublishLatency } from './publish-latency.js';
import { benchRolloutOverhead } from './rollout-overhead.js';
import { benchFanOut } from './fanout.js';
import { timeIt } from './bench-row.js';

// The servers the benches start run in this process: they get the V8 flags a server on a host
// has (cli/main.ts sets them once its modules are loaded).
for (const flag of [...DAEMON_V8_FLAGS, ...SERVER_V8_FLAGS]) setFlagsFromString(flag);

const silent = pino({ level: 'silent' });
const rows: Array<{ figure: string; ours: number; baseline: number; goal: string; ok: boolean }> = [];
const cleanups: Array<() => void | Promise<void>> = [];

/** Namespaces made and not yet deleted: deleted at exit too, should a crash skip main's finally. */
const namespaces = new Set<string>();
process.once('exit', () => {
  for (const name of namespaces) {
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    } catch {
      // best effort
    }
  }
});

// Interrupted (Ctrl-C, kill): exit, so the handlers above (and the children's: bench/stop-child.ts) run.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.once(signal, () => process.exit(code));

function netns(label: string): string {
  const name = `nsb-${label.replace(/[^a-z0-9]/gi, "")}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  namespaces.add(name);
  cleanups.push(() => {
    namespaces.delete(name);
    execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  });
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

function tenThousandRules(): Buffer {
  const items: unknown[] = [
    { table: { family: 'inet', name: 'big' } },
    { chain: { family: 'inet', table: 'big', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
  ];
  for (let i = 0; i < 10_000; i++) {
    items.push({
      rule: {
        family: 'inet', table: 'big', chain: 'input',
        expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 1000 + i } }, { counter: { packets: 0, bytes: 0 } }, { accept: null }],
      },
    });
  }
  return Buffer.from(JSON.stringify({ nftables: items }, null, 1));
}

async function benchApply(label: string, bytes: Buffer, runs: number): Promise<void> {
  const ns = netns(label);
  const nft = createNftRunner(`ip netns exec ${ns} nft`);
  const blob = gitBlobId(bytes);
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const txFile = join(dir, 'tx.json');
  // The baseline gets the agent's own transaction, so both load exactly the same objects.
  const { ruleset } = verifyRevision(bytes, blob, { ruleset: label, commit: blob });
  writeFileSync(txFile, JSON.stringify(buildApplyTransaction(ruleset, ruleset.nftables.flatMap((o) => ('table' in o ? [o.table] : [])))));
  const raw = await timeIt(runs, () => execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', txFile]));
  let managed: Awaited<ReturnType<typeof applyRuleset>>['managedTables'] = [];
  const agentPath = async (verify: 'off' | 'full') => {
    const { ruleset: r } = verifyRevision(bytes, blob, { ruleset: label, commit: blob });
    managed = (await applyRuleset({ nft, ruleset: r, previouslyManaged: managed, verify })).managedTables;
  };
  const ours = await timeIt(runs, () => agentPath('off'));
  const withReadback = await timeIt(runs, () => agentPath('full'));
  const goal = raw * 1.2 + 50;
  rows.push({ figure: `apply ${label} (ms)`, ours, baseline: raw, goal: `< 1.2x + 50 = ${goal.toFixed(0)}`, ok: ours < goal });
  rows.push({ figure: `apply ${label} + read-back (ms)`, ours: withReadback, baseline: raw, goal: 'report only', ok: true });
}

/**
 * Push validation of 50 changed rulesets (a new branch): the pre-receive validator's work in
 * one process (git plumbing, one scratch namespace, load and read-back of each ruleset), against
 * the baseline of 50 raw `nft -c -j -f` runs, one per file, in one namespace. The hook's own
 * process start (about 0.2 s compiled, more from the sources) comes on top.
 */
async function benchPushValidation(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-val-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const base = readFileSync('repo-template/rulesets/default.json', 'utf8');
  const files: string[] = [];
  const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', bare, ...args], { input, encoding: 'utf8' }).trim();
  let index = '';
  for (let i = 0; i < 50; i++) {
    const text = base.replace(/"right": 22\b/, `"right": ${2000 + i}`);
    const file = join(dir, `r${i}.json`);
    writeFileSync(file, text);
    files.push(file);
    index += `100644 ${g(['hash-object', '-w', file])}\trulesets/r${i}.json\n`;
  }
  index += `100644 ${g(['rev-parse', 'main:rulesets/default.json'])}\trulesets/default.json\n`;
  const env = { ...process.env, GIT_INDEX_FILE: join(dir, 'index'), GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  execFileSync('git', ['--git-dir', bare, 'update-index', '--add', '--index-info'], { input: index, env });
  const tree = execFileSync('git', ['--git-dir', bare, 'write-tree'], { env, encoding: 'utf8' }).trim();
  const commit = execFileSync('git', ['--git-dir', bare, 'commit-tree', tree, '-m', '50 rulesets'], { env, encoding: 'utf8' }).trim();
  const update = [{ old: '0'.repeat(40), new: commit, ref: 'refs/heads/fifty' }];
  let checked = 0;
  const ours = await timeIt(runs, async () => {
    const r = await validatePush(update, { gitdir: bare });
    if (r.problems.length > 0 || r.loaded !== true) throw new Error(`validation failed: ${JSON.stringify(r.problems[0] ?? r.loaded)}`);
    checked = r.checked;
  });
  if (checked !== 51) throw new Error(`expected 51 rulesets checked, got ${checked}`);
  const ns = netns('val');
  const baseline = await timeIt(runs, () => {
    for (const f of files) execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', '-f', f]);
  });
  rows.push({ figure: 'push validation, 50 rulesets (ms)', ours, baseline, goal: '< 1000 (about a second)', ok: ours < 1000 });
}

function printTable(): void {
  const head = ['figure', 'nft-sync', 'baseline', 'ratio', 'goal', 'met'];
  const body = rows.map((r) => [r.figure, r.ours.toFixed(1), r.baseline.toFixed(1), (r.ours / r.baseline).toFixed(2) + 'x', r.goal, r.ok ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const b of body) console.log(line(b));
}

/**
 * The benches by name, in the order they run. `npm run bench -- --only push,rss` runs only the
 * named ones (a quick look at two figures on a loaded machine); without it, all of them.
 * NFT_SYNC_BENCH_RUNS=N times N changes (and N back to back) in `bige2e` rather than 5: a
 * steadier median on a noisy machine, when comparing two trees.
 */
const BENCHES: Array<[string, () => Promise<void>]> = [
  ['apply', async () => {
    await benchApply('default', readFileSync('repo-template/rulesets/default.json'), 15);
    await benchApply('10k rules', tenThousandRules(), 5);
  }],
  ['plan', async () => void rows.push(await benchApplyPlan(15))],
  ['glob', async () => void rows.push(await benchAgentGlob(15))],
  ['push', async () => void rows.push(...(await benchPushToApplied(15, netns, silent, cleanups)))],
  ['api', async () => void rows.push(...(await benchApiLatency(200)))],
  ['tls', async () => void rows.push(await benchTlsFetch(50, silent, cleanups))],
  ['signed', async () => void rows.push(await benchSignedFetch(30, silent, cleanups))],
  ['validation', () => benchPushValidation(5)],
  ['drift', async () => void rows.push(await benchDriftHeal(15, netns('drift'), silent, cleanups))],
  ['publish', async () => void rows.push(await benchPublishLatency(7, netns, silent, cleanups))],
  ['hostile', async () => void rows.push(...(await benchHostileClient(300, cleanups)))],
  ['rss', async () => void rows.push(...(await benchIdleRss(netns('rss'), cleanups)))],
  ['bigset', async () => void rows.push(...(await benchBigSetDrift(3, 15, netns, silent, cleanups)))],
  ['bigdelta', async () => {
    rows.push(...(await benchBigSetDelta(3, netns, cleanups)));
    rows.push(...(await benchDeltaAnswerToApplied(5, netns, silent, cleanups)));
  }],
  // Minutes on a loaded machine (the element API rewrites the 1M set): a name of its own.
  ['bige2e', async () => void rows.push(...(await benchSetChangeToApplied(Number(process.env.NFT_SYNC_BENCH_RUNS) || 5, netns, silent, cleanups)))],
  ['storage', async () => void rows.push(...(await benchElementStorage(1_000_000, 1000, 2)))],
  ['rollout', async () => void rows.push(await benchRolloutOverhead(200))],
  ['replicas', async () => {
    rows.push(await benchFailover(5, netns, silent, cleanups));
    rows.push(await benchReplicaLag(10, silent, cleanups));
  }],
  ['fanout', async () => void rows.push(...(await benchFanOut(cleanups)))],
];

/** The names given with `--only a,b` (undefined: all); an unknown name is an error. */
function selected(argv: readonly string[]): Set<string> | undefined {
  const i = argv.indexOf('--only');
  if (i < 0) return undefined;
  const names = new Set((argv[i + 1] ?? '').split(',').filter((n) => n !== ''));
  const unknown = [...names].filter((n) => !BENCHES.some(([b]) => b === n));
  if (names.size === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of: ${BENCHES.map(([b]) => b).join(', ')}`);
  return names;
}

async function main(): Promise<void> {
  // `npm run bench -- --fanout`: only the fan-out rows (bench/fanout.ts; 10,000 agents), as --only fanout.
  const only = process.argv.includes('--fanout') ? new Set(['fanout']) : selected(process.argv.slice(2));
  try {
    for (const [name, bench] of BENCHES) if (only === undefined || only.has(name)) await bench();
    printTable();
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // best effort
      }
    }
  }
}

await main();
