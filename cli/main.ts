#!/usr/bin/env node
/**
 * `nft-sync`: the command line. Exit 0 on success, 2 on a usage error, 1 on any other failure,
 * with one line on stderr that carries the error's stable code.
 */
import { NftSyncError, toNftSyncError } from '../shared/errors.js';
import type { Command } from './command.js';
import { agentCommand } from './commands/agent.js';
import { fetchCommand } from './commands/fetch.js';
import { hookCommand } from './commands/hook.js';
import { importCommand } from './commands/import.js';
import { initCommand } from './commands/init.js';
import { pkiCommand } from './commands/pki.js';
import { pullCommand } from './commands/pull.js';
import { rollbackCommand } from './commands/rollback.js';
import { serverCommand } from './commands/server.js';
import { statusCommand } from './commands/status.js';
import { helpText, parseCommandLine } from './parse-command-line.js';

const COMMANDS: Command[] = [initCommand, serverCommand, fetchCommand, pullCommand, agentCommand, rollbackCommand, statusCommand, pkiCommand, importCommand, hookCommand];

function usage(): string {
  const lines = ['usage: nft-sync COMMAND [flags]   (nft-sync COMMAND --help for its flags)', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)}${c.summary}`);
  return lines.join('\n');
}

/** Run the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new NftSyncError('NFTSYNC_ERR_USAGE', `unknown command ${JSON.stringify(name)}; try nft-sync --help`);
    const { values, positionals } = parseCommandLine(command.name, rest, command.flags, command.positionals);
    if (values.help) {
      process.stdout.write(helpText(command.name, command.summary, command.flags, command.positionals) + '\n');
      return 0;
    }
    return await command.run(values, positionals);
  } catch (err) {
    const e = toNftSyncError(err);
    process.stderr.write(`nft-sync: ${e.code}: ${e.message.split('\n').join(' ')}\n`);
    return e.code === 'NFTSYNC_ERR_USAGE' ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`nft-sync: NFTSYNC_ERR_SERVER_INTERNAL: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
