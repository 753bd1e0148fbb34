/**
 * Publish latency: a rule added by hand on host A (raw `nft add rule` in A's namespace) until it
 * is in force on host B, both agents following main with --publish (quiet period 0.5 s), the
 * server judging each published commit with the push validator (load and read-back in a scratch
 * namespace), as users run it. Baseline, from the same run: the quiet period plus the same raw
 * `nft add rule` on B, i.e. doing the change by hand on B once the quiet period has passed.
 * Goal: under 1 s plus the quiet period.
 *
 * nft runs in the namespaces through `nsenter --net=...` (see bench/push-to-applied.ts for why).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { runAgentDaemon } from '../agent/agent-daemon.js';
import { createNftRunner } from '../host/nft-runner.js';
import { DEFAULT_PUBLISH_QUIET_S } from '../agent/publish/live-publisher.js';
import type { ReconcileOutcome } from '../agent/reconcile/reconciler.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import { parseTokenList } from '../shared/config/token-list.js';
import { median, type BenchRow } from './bench-row.js';

const TOKEN = 'bench-publish-token-0123456789';

/** The row described in the file comment, over `runs` changes. */
export async function benchPublishLatency(runs: number, netns: (label: string) => string, logger: Logger, cleanups: Array<() => unknown>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-publish-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  const clone = join(dir, 'clone');
  git(['clone', '-q', bare, clone], dir);
  writeFileSync(join(clone, 'nft-sync.yaml'), 'version: 1\nrulesets:\n  default:\n    publishers: ["host-*"]\n');
  git(['commit', '-qam', 'host-* may publish'], clone);
  git(['push', '-q', 'origin', 'main'], clone);
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger, installHook: false, tokens: parseTokenList(`${TOKEN} bench\n`) });
  cleanups.push(() => server.close());
  const quietMs = DEFAULT_PUBLISH_QUIET_S * 1000;
  const hosts = ['a', 'b'].map((h) => {
    const ns = netns(`pub${h}`);
    const ac = new AbortController();
    let waiter: (() => void) | undefined;
    const daemon = runAgentDaemon(
      {
        host: '127.0.0.1', port: server.wireAddress.port, agent: `host-${h}`, ref: 'main', token: TOKEN,
        nft: createNftRunner(`nsenter --net=/run/netns/${ns} nft`), stateDir: join(dir, `state-${h}`), logger,
        publish: { quietMs },
        onOutcome: (o: ReconcileOutcome) => o.kind === 'applied' && waiter?.(),
      },
      ac.signal,
    );
    cleanups.push(async () => {
      ac.abort();
      await daemon;
    });
    return { ns, nextApplied: () => new Promise<void>((resolve) => (waiter = resolve)) };
  });
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  await Promise.all([a.nextApplied(), b.nextApplied()]);
  const nft = (ns: string, args: string[]) => execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'nft', ...args]);
  const times: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const onB = b.nextApplied();
    const onA = a.nextApplied(); // A re-applies the commit its change became
    const t0 = performance.now();
    nft(a.ns, ['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', String(4000 + i), 'accept']);
    await onB;
    times.push(performance.now() - t0);
    await onA;
    const t1 = performance.now();
    nft(b.ns, ['add', 'rule', 'inet', 'nft_sync', 'output', 'tcp', 'dport', String(4000 + i), 'accept']);
    raw.push(performance.now() - t1);
    nft(b.ns, ['flush', 'chain', 'inet', 'nft_sync', 'output']);
    // B publishes that hand change and its flush (or nothing, if they cancel out): let it settle.
    await new Promise((r) => setTimeout(r, quietMs * 2 + 1500));
  }
  const ours = median(times);
  const goal = 1000 + quietMs;
  return { figure: `publish latency, change on A to applied on B (quiet ${DEFAULT_PUBLISH_QUIET_S} s) (ms)`, ours, baseline: quietMs + median(raw), goal: `< 1000 + quiet = ${goal}`, ok: ours < goal };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cleanups: Array<() => unknown> = [];
  const netns = (label: string) => {
    const name = `nsb-${label}-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name]);
    cleanups.push(() => execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }));
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    return name;
  };
  try {
    console.log(await benchPublishLatency(Number(process.argv[2] ?? 5), netns, pino({ level: 'silent' }), cleanups));
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
}
