#!/usr/bin/env node
/**
 * `nft-sync`: the command line. Exit 0 on success, 2 on a usage error, 1 on any other failure,
 * with one line on stderr that carries the error's stable code.
 *
 * Each command's module is imported only when that command runs: the agent then never loads
 * the server's code (fastify, isomorphic-git, the push validator), which would cost it about
 * 20 MB of memory for as long as it runs (`npm run bench` reports the idle RSS of both daemons).
 */
import { setFlagsFromString } from 'node:v8';
import { NftSyncError, toNftSyncError } from '../shared/errors.js';
import type { Command } from './command.js';
import { helpText, parseCommandLine } from './parse-command-line.js';
import { packageVersion } from '../host/package-root.js';
import { DAEMON_V8_FLAGS, SERVER_V8_FLAGS } from '../host/daemon-v8-flags.js';

/** Every command, in the order `nft-sync --help` lists them, and how to load it. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  init: async () => (await import('./commands/init.js')).initCommand,
  server: async () => (await import('./commands/server.js')).serverCommand,
  fetch: async () => (await import('./commands/fetch.js')).fetchCommand,
  pull: async () => (await import('./commands/pull.js')).pullCommand,
  agent: async () => (await import('./commands/agent.js')).agentCommand,
  rollback: async () => (await import('./commands/rollback.js')).rollbackCommand,
  rollout: async () => (await import('./commands/rollout.js')).rolloutCommand,
  set: async () => (await import('./commands/set.js')).setCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  pki: async () => (await import('./commands/pki.js')).pkiCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  hook: async () => (await import('./commands/hook.js')).hookCommand,
};

/**
 * Two of V8's habits that cost a daemon memory for as long as it runs, turned off while a
 * command's modules load and back on (V8's defaults, as of Node 20 to 22) once they have:
 *
 *  - The young generation doubles each time a scavenge finds more survivors than it holds, and
 *    never shrinks back while the process idles. Loading the modules is such a burst: it grew
 *    the idle agent's young generation from 1 to 16 MB, 11 MB of it resident and empty. So the
 *    growth factor is 1 while they load; a big ruleset later grows it as before, with no slower
 *    parse of a million-element set.
 *  - Loading some 150 modules makes a few of Node's own loader functions hot (path
 *    normalisation, URL to path, the ES module loader; `--trace-opt`), and optimising them runs
 *    TurboFan, whose code in the node binary (about 4 MB) then stays resident: the idle agent's
 *    RSS fell from 55.6 to 51.2 MB without it (side by side, `npm run bench -- --only rss` has it). So TurboFan is
 *    off while they load; code that is hot later (a big ruleset's parse) is optimised as before.
 *
 * Once they have loaded, DAEMON_V8_FLAGS, and SERVER_V8_FLAGS for the server (host/daemon-v8-
 * flags.ts: code that runs rarely is kept compiled; the server's heap is not shrunk when it idles).
 */
function loadingMode(loading: boolean, command?: string): void {
  setFlagsFromString(`--semi-space-growth-factor=${loading ? 1 : 2}`);
  setFlagsFromString(loading ? '--no-turbofan' : '--turbofan');
  if (!loading) for (const flag of [...DAEMON_V8_FLAGS, ...(command === 'server' ? SERVER_V8_FLAGS : [])]) setFlagsFromString(flag);
}

async function usage(): Promise<string> {
  const lines = ['usage: nft-sync COMMAND [flags]   (nft-sync COMMAND --help for its flags; nft-sync --version)', '', 'commands:'];
  for (const load of Object.values(COMMANDS)) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(10)}${c.summary}`);
  }
  return lines.join('\n');
}

/** Run the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await usage()) + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`nft-sync ${packageVersion()}\n`);
    return 0;
  }
  try {
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw new NftSyncError('NFTSYNC_ERR_USAGE', `unknown command ${JSON.stringify(name)}; try nft-sync --help`);
    loadingMode(true);
    let command: Command;
    const siblingFlags = {};
    try {
      command = await load();
      for (const sibling of command.configSiblings ?? []) Object.assign(siblingFlags, (await COMMANDS[sibling]!()).flags);
    } finally {
      loadingMode(false, name);
    }
    const { values, positionals, ignoredConfigKeys } = parseCommandLine(command.name, rest, command.flags, command.positionals, siblingFlags);
    if (values.help) {
      process.stdout.write(helpText(command.name, command.summary, command.flags, command.positionals) + '\n');
      return 0;
    }
    return await command.run(values, positionals, { ignoredConfigKeys });
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
