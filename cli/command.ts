/** The shape every `nft-sync` subcommand has. */
import { NftSyncError } from '../shared/errors.js';
import type { Flags, ParsedFlags } from './parse-command-line.js';
import { CLI_DEFAULTS } from './defaults.js';

export interface Command {
  name: string;
  summary: string;
  flags: Flags;
  positionals?: string[];
  /**
   * Commands whose flags may appear in this command's --config file, where they are ignored
   * (`agent` and `pull` share one file).
   */
  configSiblings?: string[];
  /** Run with parsed flags; resolve with the exit code. Throw NftSyncError on failure. */
  run(values: ParsedFlags, positionals: string[], context?: CommandContext): Promise<number>;
}

/** What the command line says besides the flags' values. */
export interface CommandContext {
  /** --config keys that belong to a sibling command and were ignored (log them at debug). */
  ignoredConfigKeys: string[];
}

/** A string flag's value (the parser has checked required ones). */
export function str(values: ParsedFlags, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Flags common to every command that talks to nft. */
export const NFT_FLAGS: Flags = {
  nft: { type: 'string', default: CLI_DEFAULTS.nft, description: 'command that runs nft, split on spaces (e.g. "ip netns exec host1 nft")' },
  'state-dir': { type: 'string', default: CLI_DEFAULTS.stateDir, description: 'where the agent keeps the applied revision and its ruleset' },
  check: { type: 'boolean', default: false, description: 'dry-run with nft -c before applying (costs as much as the apply)' },
};

export const LOG_FLAG: Flags = {
  'log-level': { type: 'string', default: CLI_DEFAULTS.logLevel, description: 'fatal, error, warn, info, debug or trace (JSON lines: server and agent log on stdout, pull on stderr)' },
};

/** --ref or --track-tags: what an agent follows. */
export const TARGET_FLAGS: Flags = {
  ref: { type: 'string', description: 'branch, tag or commit id (full or abbreviated)' },
  'track-tags': { type: 'string', description: "follow the highest semantic version among tags matching PATTERN, e.g. 'v*'" },
};

/** The target from --ref or --track-tags; NFTSYNC_ERR_USAGE unless exactly one is given. */
export function target(command: string, values: ParsedFlags): { ref: string; track: boolean } {
  const ref = str(values, 'ref');
  const pattern = str(values, 'track-tags');
  if ((ref === undefined) === (pattern === undefined)) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: give exactly one of --ref REF or --track-tags PATTERN`);
  }
  return ref !== undefined ? { ref, track: false } : { ref: pattern!, track: true };
}
