/**
 * A real agent daemon (runAgentDaemon) for a test: stopped and its state directory removed when
 * the test ends, its outcomes and drift reports recorded, and a way to wait for the next outcome
 * that matches. One helper instead of the `startAgent` copied into each agent test.
 */
import type { TestContext } from 'node:test';
import { runAgentDaemon, type AgentDaemonOptions } from '../../agent/agent-daemon.js';
import type { DriftReport } from '../../agent/drift/drift-watcher.js';
import { createNftRunner, type NftRunner } from '../../host/nft-runner.js';
import type { ReconcileOutcome } from '../../agent/reconcile/reconciler.js';
import { quietLogger } from './server-fixture.js';
import { makeStateDir } from './temp-dir.js';

export interface TestAgentOptions extends Partial<Omit<AgentDaemonOptions, 'nft'>> {
  host: string;
  port: number;
  /** An nft runner, or the command that runs nft (e.g. a namespace's `nftCommand`). */
  nft: NftRunner | string;
}

export interface TestAgent {
  /** Every reconcile outcome so far, in order. */
  outcomes: ReconcileOutcome[];
  /** Every drift report so far. */
  drifts: DriftReport[];
  /** How often an unhealed drift cleared. */
  cleared: number;
  /** How often the drift event source said it is listening (1 once started, more after restarts). */
  listening: number;
  /** The agent's state directory (removed after the test). */
  stateDir: string;
  /**
   * The next outcome (from now on, or an earlier one with `includePast`) that `pred` accepts;
   * rejects after `timeoutMs` (default 5 s) listing the outcomes seen.
   */
  next(pred?: (o: ReconcileOutcome) => boolean, timeoutMs?: number, includePast?: boolean): Promise<ReconcileOutcome>;
  /** Stop the daemon and wait for its pass in flight (also done after the test). */
  stop(): Promise<void>;
}

/**
 * Start an agent daemon following `ref` (default main) as `agent` (default host-1), with a fast
 * backoff (50 to 200 ms) and a quiet logger; every other option passes through.
 */
export function startTestAgent(t: Pick<TestContext, 'after'>, opts: TestAgentOptions): TestAgent {
  const ac = new AbortController();
  const waiters: Array<{ pred: (o: ReconcileOutcome) => boolean; resolve: (o: ReconcileOutcome) => void }> = [];
  const stateDir = opts.stateDir ?? makeStateDir(t);
  const agent: TestAgent = {
    outcomes: [],
    drifts: [],
    cleared: 0,
    listening: 0,
    stateDir,
    next(pred = () => true, timeoutMs = 5000, includePast = false) {
      const past = includePast ? agent.outcomes.find(pred) : undefined;
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching outcome in ${timeoutMs} ms; got ${JSON.stringify(agent.outcomes.map((o) => o.kind))}`)), timeoutMs);
        waiters.push({ pred, resolve: (o) => (clearTimeout(timer), resolve(o)) });
      });
    },
    stop: async () => {
      ac.abort();
      await done;
    },
  };
  const done = runAgentDaemon(
    {
      agent: 'host-1',
      ref: 'main',
      logger: quietLogger,
      backoff: { baseMs: 50, capMs: 200 },
      ...opts,
      stateDir,
      nft: typeof opts.nft === 'string' ? createNftRunner(opts.nft) : opts.nft,
      onDrift(d) {
        agent.drifts.push(d);
        opts.onDrift?.(d);
      },
      onDriftCleared() {
        agent.cleared++;
        opts.onDriftCleared?.();
      },
      onDriftListening() {
        agent.listening++;
        opts.onDriftListening?.();
      },
      onOutcome(o) {
        agent.outcomes.push(o);
        for (const w of [...waiters]) if (w.pred(o)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(o);
        opts.onOutcome?.(o);
      },
    },
    ac.signal,
  );
  t.after(agent.stop);
  return agent;
}
