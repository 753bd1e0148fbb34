/**
 * The command line's own defaults, in one place: what `status --watch`, the API client and a
 * release rollback use, and the defaults of the flags common to several commands. Checked once
 * when this module loads, then deep-frozen. docs/defaults.md lists every value;
 * tests/unit/cli/defaults.test.ts keeps the two in step. The server's and the agent's defaults
 * (most flags' defaults) are in server/defaults.ts, agent/defaults.ts and shared/defaults.ts.
 */
import { checkDefaults, type DefaultsRule } from '../shared/check-defaults.js';

/** The table as written, before the check; exported only for the tests of the check. */
export const CLI_DEFAULTS_TABLE = {
  /** Seconds between polls of `status --watch` given without a number. `--watch`. */
  statusWatchS: 2,
  /** An API call (status, rollback) must be answered within this. */
  apiTimeoutMs: 30_000,
  /** `nft-sync set` waits this long for an element change (the push validator may load a big set). */
  setChangeTimeoutMs: 600_000,
  /** A release rollback tries this many times when the branch or the tags keep moving. */
  rollbackAttempts: 3,
  /** The command that runs nft, split on spaces. `--nft`. */
  nft: 'nft',
  /** Where the agent keeps the applied revision and its ruleset. `--state-dir`. */
  stateDir: '/var/lib/nft-sync',
  /** Log level of every command. `--log-level`. */
  logLevel: 'info',
};

/** Relations between the values that must hold, besides each value's own check. */
export const CLI_DEFAULTS_RULES: readonly DefaultsRule<typeof CLI_DEFAULTS_TABLE>[] = [
  ['rollbackAttempts >= 1', (t) => t.rollbackAttempts >= 1],
  ['statusWatchS >= 1', (t) => t.statusWatchS >= 1],
  ['logLevel is a pino level', (t) => ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(t.logLevel)],
];

/** The cli defaults, checked and deep-frozen. */
export const CLI_DEFAULTS = checkDefaults('cli', CLI_DEFAULTS_TABLE, CLI_DEFAULTS_RULES);
