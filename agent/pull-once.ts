/**
 * `nft-sync pull`: fetch, verify and apply one revision, report it, and return what was done.
 */
import type tls from 'node:tls';
import { NftSyncError } from '../shared/errors.js';
import { Reconciler, type ReconcileOutcome, type ReconcilerOptions } from './reconciler.js';
import { WireClient } from './wire-client.js';

export interface PullOptions extends ReconcilerOptions {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
}

/**
 * Apply the revision at `opts.ref` once. Resolves with the outcome when that revision is in
 * force (applied now or already); throws the step's error otherwise (the previous ruleset stays).
 */
export async function pullOnce(opts: PullOptions): Promise<Exclude<ReconcileOutcome, { kind: 'failed' | 'skipped' }>> {
  const reconciler = await Reconciler.open(opts);
  const client = await WireClient.connect({ host: opts.host, port: opts.port, agent: opts.agent, tls: opts.tls });
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
