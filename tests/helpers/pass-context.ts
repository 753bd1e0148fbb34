/**
 * A reconcile pass context for unit tests of single steps: a fake nft, a state kept in memory
 * (every save recorded), a fixed clock. Tests name the fake nft where they use it.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { PassContext } from '../../agent/reconcile/reconcile-step.js';
import type { ReconcilerOptions } from '../../agent/reconcile/reconciler-options.js';
import type { FetchResult } from '../../agent/reconcile/revision-fetcher.js';
import type { AgentState } from '../../agent/state/state-store.js';
import { gitBlobId } from '../../shared/git/git-blob-id.js';
import { fakeNft, type FakeNft } from './fake-nft-runner.js';

export const DEFAULT_BYTES = readFileSync('repo-template/rulesets/default.json');

/** A fetched revision of `bytes` (default.json) at `commit`, as a server that is not behind the agent sends it. */
export function fetchedRuleset(commit: string, bytes: Buffer = DEFAULT_BYTES, extra: Partial<FetchResult> = {}): Extract<FetchResult, { kind: 'ruleset' }> {
  return { kind: 'ruleset', ref: 'main', ruleset: 'default', commit, blob: gitBlobId(bytes), bytes, behind: false, ...extra } as Extract<FetchResult, { kind: 'ruleset' }>;
}

export interface TestPass extends PassContext {
  nft: FakeNft;
  saves: { state: AgentState; applied?: Buffer; durable?: false }[];
  /** Blobs staged (PassContext.stage), in order. */
  staged: string[];
}

/** A pass over `state` with options `opts` (agent h1 following main) and a fake nft. */
export function testPass(opts: Partial<ReconcilerOptions> = {}, state?: AgentState, more: Partial<Pick<PassContext, 'inForce' | 'drifted' | 'retryFailed'>> = {}): TestPass {
  const nft = (opts.nft as FakeNft | undefined) ?? fakeNft();
  let current = state;
  const saves: TestPass['saves'] = [];
  const staged: string[] = [];
  return {
    nft,
    saves,
    staged,
    opts: { agent: 'h1', ref: 'main', stateDir: '/nonexistent', logger: pino({ level: 'silent' }), ...opts, nft },
    state: () => current,
    inForce: more.inForce,
    drifted: more.drifted ?? false,
    retryFailed: more.retryFailed ?? false,
    async save(s, applied, o) {
      current = s;
      saves.push({ state: s, ...(applied && { applied }), ...(o?.durable === false && { durable: false as const }) });
    },
    stage(blob) {
      staged.push(blob);
    },
    now: () => '2026-01-01T00:00:00.000Z',
  };
}
