/**
 * An `--nft` command that makes a chosen moment certain: a shell script in `dir` that runs
 * `prelude` (shell lines that act when, say, a flag file exists and nft was called with certain
 * arguments) and then execs nft, inside the namespace like nft itself (so the agent's drift
 * listener, which runs behind the same prefix, sees the same kernel). The agent's runner hands nft
 * its input as an unlinked file left at its end: a prelude that reads it must read /dev/stdin, as
 * nft does.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

export function wrappedNft(dir: string, prelude: string): (ns: Netns) => string {
  return (ns) => {
    const wrapper = join(dir, 'nft');
    writeFileSync(wrapper, `#!/bin/sh\n${prelude}\nexec nft "$@"\n`);
    chmodSync(wrapper, 0o755);
    return `ip netns exec ${ns.name} ${wrapper}`;
  };
}
