#!/usr/bin/env node
/**
 * The entry the pre-receive hook execs: `nft-sync hook ...` without loading the rest of the CLI
 * (fastify, isomorphic-git, the agent), because every push waits for this process to start.
 * Same flags, output and exit codes as `nft-sync hook` (1 refuses the push).
 */
import { toNftSyncError } from '../shared/errors.js';
import { hookCommand } from './commands/hook.js';
import { parseCommandLine } from './parse-command-line.js';

async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(hookCommand.name, argv, hookCommand.flags, hookCommand.positionals);
    return await hookCommand.run(values, positionals);
  } catch (err) {
    const e = toNftSyncError(err);
    process.stderr.write(`nft-sync: ${e.code}: ${e.message.split('\n').join(' ')}\n`);
    return e.code === 'NFTSYNC_ERR_USAGE' ? 2 : 1;
  }
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
