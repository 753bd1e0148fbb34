/**
 * A throwaway network namespace for loading rulesets that must not touch the host: the push
 * validator's `nft` load and read-back, and `nft-sync import`. Created with `ip netns add`
 * (root only) and always deleted by `close()`; the deletion is also registered for the
 * process's exit so a crash between the two leaves nothing behind where it can be helped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createNftRunner, type NftRunner } from './nft-runner.js';
import { NftSyncError } from '../shared/errors.js';
import { SHARED_DEFAULTS } from '../shared/defaults.js';

const run = promisify(execFile);

export interface ScratchNetns {
  name: string;
  /** nft inside the namespace. */
  nft: NftRunner;
  /** Delete the namespace; never throws; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Create a namespace named `<prefix>-<pid>-<random>`. Errors: NFTSYNC_ERR_NETNS_UNAVAILABLE
 * when not running as root or `ip netns add` fails (the message says why).
 */
export async function openScratchNetns(prefix = 'nft-sync-scratch', nftTimeoutMs = SHARED_DEFAULTS.nft.timeoutsMs.other): Promise<ScratchNetns> {
  if (process.getuid?.() !== 0) {
    throw new NftSyncError('NFTSYNC_ERR_NETNS_UNAVAILABLE', 'a scratch network namespace needs root (ip netns add); run as root');
  }
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', name]);
  } catch (err) {
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    throw new NftSyncError('NFTSYNC_ERR_NETNS_UNAVAILABLE', `could not create a scratch network namespace with ip netns add: ${msg}`, { cause: err });
  }
  let open = true;
  const onExit = (): void => {
    if (!open) return;
    open = false;
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    name,
    nft: scratchNftRunner(name, nftTimeoutMs),
    async close() {
      if (!open) return;
      open = false;
      process.removeListener('exit', onExit);
      await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    },
  };
}

/**
 * nft inside the namespace `name`, each run limited to `timeoutMs`. nsenter joins the network
 * namespace only; `ip netns exec` also makes a mount namespace and remounts /sys for every nft
 * run, which costs tens of milliseconds a call, and a push pays it several times.
 */
export function scratchNftRunner(name: string, timeoutMs = SHARED_DEFAULTS.nft.timeoutsMs.other): NftRunner {
  return createNftRunner(`nsenter --net=/run/netns/${name} nft`, { timeoutMs });
}
