/**
 * Throwaway network namespaces for tests that run the real nft. Each namespace gets a unique
 * name and is deleted when the test ends, pass or fail (registered with `t.after`), so nothing
 * is ever applied to the machine's own namespace and nothing is left behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';

export interface Netns {
  name: string;
  /** The `--nft` command for this namespace, e.g. `ip netns exec nsx nft`. */
  nftCommand: string;
  /** Run nft in the namespace with `args`; returns stdout. Throws on a non-zero exit. */
  nft(args: string[], input?: string): string;
  /**
   * Run any command in the namespace (its network namespace only, through nsenter: `ip netns
   * exec` also makes a mount namespace and remounts /sys, tens of milliseconds a call, and tests
   * poll with this). The daemons under test get `nftCommand`, the documented form.
   */
  exec(argv: string[], input?: string): string;
}

/** Create a namespace named `nst-<prefix>-<random>` and delete it after the test. */
export function createNetns(t: Pick<TestContext, 'after'>, prefix = 't'): Netns {
  const name = `nst-${prefix.slice(0, 6)}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.after(() => deleteNetns(name));
  const exec = (argv: string[], input?: string): string =>
    execFileSync('nsenter', [`--net=/run/netns/${name}`, ...argv], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  exec(['ip', 'link', 'set', 'lo', 'up']);
  return { name, nftCommand: `ip netns exec ${name} nft`, nft: (args, input) => exec(['nft', ...args], input), exec };
}

/** Delete a namespace if it exists; never throws. */
export function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
