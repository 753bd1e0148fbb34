/**
 * `nft-sync pull`: fetch, verify and apply one revision, report it, and return what was done.
 */
import type tls from 'node:tls';
import { NftSyncError } from '../shared/errors.js';
import { Reconciler, type ReconcileOutcome, type ReconcilerOptions } from './reconcile/reconciler.js';
import { connectFirst, type ServerEndpoint } from './wire/server-endpoint.js';
import { confirmOptions, wireProbe } from './reconcile/confirm-revision.js';

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
  /** Every server to try, in order (`--server A,B,C`); default: the one at host/port. */
  servers?: readonly ServerEndpoint[];
}

/**
 * Apply the revision at `opts.ref` once. Resolves with the outcome when that revision is in
 * force and confirmed (applied now or already); throws the step's error otherwise (the previous
 * ruleset stays or, when the confirm window passed without reaching the server, is restored:
 * NFTSYNC_ERR_CONFIRM_FAILED).
 *
 * `signal` (SIGINT, SIGTERM; its `reason` names the signal) stops the pull: before the apply,
 * nothing changes; during the confirm window, the previous ruleset is restored at once rather
 * than when the window ends. Either way the error is NFTSYNC_ERR_INTERRUPTED, saying which.
 * An apply already under way finishes first (one nft transaction), then is rolled back.
 */
export async function pullOnce(opts: PullOptions, signal?: AbortSignal): Promise<Exclude<ReconcileOutcome, { kind: 'failed' | 'skipped' }>> {
  const servers: readonly ServerEndpoint[] = opts.servers?.length ? opts.servers : [{ host: opts.host, port: opts.port, tls: opts.tls }];
  // The guard probes the server the revision came from (the first of --server that answered).
  let index = 0;
  const probes = servers.map((server) => wireProbe({ ...server, agent: opts.agent, token: opts.token }));
  const guard = opts.confirm ?? { ...confirmOptions(opts.confirmWindowMs, opts), probe: (ms: number) => probes[index]!(ms) };
  const reconciler = await Reconciler.open({ ...opts, confirm: signal ? { ...guard, signal } : guard });
  await reconciler.recoverInterrupted();
  const interrupted = () => new NftSyncError('NFTSYNC_ERR_INTERRUPTED', `interrupted by ${String(signal?.reason)} before anything was applied; nothing was changed`);
  if (signal?.aborted) throw interrupted();
  const connecting = connectFirst(servers, { agent: opts.agent, token: opts.token, maxRulesetBytes: opts.maxRulesetBytes });
  const connected = signal ? await untilAborted(connecting, signal, interrupted) : await connecting;
  const client = connected.client;
  index = connected.index;
  // Stops a fetch in flight; once the bytes are here the reconciler no longer uses the link.
  const onAbort = () => client.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // A one-shot pull is an explicit request: try again even a revision that failed before. No
    // next pass to make ready for (its memory, the layout of the revision in force).
    const outcome = await reconciler.reconcile(client, { retryFailed: true, prepareNext: false });
    await client.report(reconciler.status()).catch(() => {});
    if (outcome.kind === 'failed' && signal?.aborted && outcome.error.code !== 'NFTSYNC_ERR_INTERRUPTED' && reconciler.state?.pending === undefined) {
      // The link was closed under the fetch: nothing reached nft.
      throw interrupted();
    }
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'skipped') throw new NftSyncError('NFTSYNC_ERR_NFT_APPLY', outcome.reason);
    return outcome;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.close();
    // The stale files a save left go before the run returns, not under the caller's feet.
    await reconciler.settled();
  }
}

/** `p`, or `error()` as soon as `signal` aborts (a client that connects after that is closed). */
function untilAborted<T extends { client: { close(): void } }>(p: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      p.then((c) => c.client.close(), () => {});
      reject(error());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (c) => (signal.removeEventListener('abort', onAbort), resolve(c)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
