/**
 * `nft-sync pull` under SIGINT and SIGTERM: an operator who stops a pull must not be left with an
 * unconfirmed ruleset in force (the confirm window is what guards against a lockout).
 */
import { pullOnce, type PullOptions } from '../agent/pull-once.js';
import { toNftSyncError } from '../shared/errors.js';

/** Exit codes of a pull stopped by a signal, as shells report them (128 + the signal's number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * pullOnce, stopped cleanly by SIGINT or SIGTERM: the previous ruleset is restored at once when
 * the signal comes during the confirm window (pullOnce), the one-line error says what was done,
 * and the exit code is 130 or 143. A second signal while restoring is noted, not obeyed: exiting
 * then would leave the unconfirmed ruleset in force. Resolves with the outcome or an exit code.
 */
export async function pullInterruptibly(options: PullOptions): Promise<Awaited<ReturnType<typeof pullOnce>> | number> {
  const ac = new AbortController();
  const handlers = Object.keys(SIGNAL_EXIT).map((sig) => {
    const handler = () => {
      if (ac.signal.aborted) process.stderr.write(`nft-sync: ${sig} again: still putting the previous ruleset back; wait\n`);
      else ac.abort(sig);
    };
    process.on(sig, handler);
    return () => process.off(sig, handler);
  });
  try {
    return await pullOnce(options, ac.signal);
  } catch (err) {
    const e = toNftSyncError(err);
    if (e.code !== 'NFTSYNC_ERR_INTERRUPTED') throw err;
    process.stderr.write(`nft-sync: ${e.code}: ${e.message}\n`);
    return SIGNAL_EXIT[ac.signal.reason as keyof typeof SIGNAL_EXIT];
  } finally {
    for (const off of handlers) off();
  }
}
