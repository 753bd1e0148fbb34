/**
 * `nft-sync pull`: fetch, verify and apply one revision, report it, and return what was done.
 */
import type tls from 'node:tls';
import { NftSyncError } from '../shared/errors.js';
import { Reconciler, type ReconcileOutcome, type ReconcilerOptions } from './reconciler.js';
import { WireClient } from './wire-client.js';
import { confirmOptions } from './confirm-revision.js';

export interface PullOptions extends ReconcilerOptions {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
  /** Token for a server run with --read-token-required (sent in hello). */
  token?: string;
  /** Commit-confirmed window in ms (default DEFAULT_CONFIRM_WINDOW_S s; 0: off). */
  confirmWindowMs?: number;
  /** Largest ruleset accepted from the server (default DEFAULT_MAX_RULESET_BYTES). */
  maxRulesetBytes?: number;
}

/**
 * Apply the revision at `opts.ref` once. Resolves with the outcome when that revision is in
 * force and confirmed (applied now or already); throws the step's error otherwise (the previous
 * ruleset stays or, when the confirm window passed without reaching the server, is restored:
 * NFTSYNC_ERR_CONFIRM_FAILED).
 */
export async function pullOnce(opts: PullOptions): Promise<Exclude<ReconcileOutcome, { kind: 'failed' | 'skipped' }>> {
  const reconciler = await Reconciler.open({ ...opts, confirm: opts.confirm ?? confirmOptions(opts.confirmWindowMs, opts) });
  await reconciler.recoverInterrupted();
  const client = await WireClient.connect({ host: opts.host, port: opts.port, agent: opts.agent, tls: opts.tls, token: opts.token, maxRulesetBytes: opts.maxRulesetBytes });
  try {
    // A one-shot pull is an explicit request: try again even a revision that failed before.
    const outcome = await reconciler.reconcile(client, { retryFailed: true });
    await client.report(reconciler.status()).catch(() => {});
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'skipped') throw new NftSyncError('NFTSYNC_ERR_NFT_APPLY', outcome.reason);
    return outcome;
  } finally {
    client.close();
  }
}
