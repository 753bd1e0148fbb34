/**
 * The defaults of the host-side IO both the agent and the server use (host/: git processes,
 * scratch namespaces and what is read back from them), in one place. Checked once when this
 * module loads (NFTSYNC_ERR_CONFIG_INVALID), then deep-frozen. docs/defaults.md lists every
 * value; tests/unit/host/defaults.test.ts keeps the two in step. How long one nft run may take
 * is in shared/defaults.ts (`nft.timeoutsMs`), with the other defaults both sides share.
 */
import { checkDefaults, type DefaultsRule } from '../shared/check-defaults.js';

const MiB = 1024 * 1024;

/** The table as written, before the check; exported only for the tests of the check. */
export const HOST_DEFAULTS_TABLE = {
  scratch: {
    /** Listings of a set taken before its elements are left unverified (the kernel still rearranging it). */
    readAttempts: 4,
    /** The pause before each new listing. */
    readPausesMs: [100, 500, 2000],
    /** How long a lease waits for a scratch namespace being emptied before it makes a new one. */
    returnWaitMs: 100,
  },
  /** Largest output of one git command read in full. */
  gitMaxBuffer: 64 * MiB,
  /**
   * One ref transaction of the long-lived `git update-ref --stdin` (host/ref-updater.ts) answered
   * within this, else git is stopped and the update refused: one git serves every branch of the
   * repository, so a hanging `reference-transaction` hook must not hold them all.
   */
  refUpdateTimeoutMs: 30_000,
};

/** Relations between the values that must hold, besides each value's own check. */
export const HOST_DEFAULTS_RULES: readonly DefaultsRule<typeof HOST_DEFAULTS_TABLE>[] = [
  ['scratch.readPausesMs has one pause per listing after the first', (t) => t.scratch.readPausesMs.length === t.scratch.readAttempts - 1],
  ['scratch.readAttempts >= 1', (t) => t.scratch.readAttempts >= 1],
];

/** The host defaults, checked and deep-frozen. */
export const HOST_DEFAULTS = checkDefaults('host', HOST_DEFAULTS_TABLE, HOST_DEFAULTS_RULES);
