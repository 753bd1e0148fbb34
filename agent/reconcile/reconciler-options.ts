/**
 * What a reconciler is built with: what it follows, how it reaches nft and the state directory,
 * and the guards it applies (signatures, downgrades, commit-confirmed, foreign tables).
 */
import type { Logger } from 'pino';
import type { TablePattern } from '../../shared/ruleset/table-pattern.js';
import type { NftRunner } from '../../host/nft-runner.js';
import type { ConfirmOptions } from './confirm-revision.js';

export interface ReconcilerOptions {
  agent: string;
  /** The ref followed; with `track`, a tag pattern whose highest semantic version is followed. */
  ref: string;
  track?: boolean;
  /** Ruleset name; without it the server chooses by the agent's name. */
  ruleset?: string;
  nft: NftRunner;
  stateDir: string;
  logger: Logger;
  /** Run `nft -c` before applying (costs as much as the apply itself). */
  check?: boolean;
  /** Signed releases: apply only revisions reached through a tag signed by a key in this file. */
  allowedSigners?: string;
  /** With `track`: move to a lower version than the tag in force (otherwise held, see release-guard.ts). */
  allowDowngrade?: boolean;
  /** Commit-confirmed (agent/reconcile/confirm-revision.ts); off when absent or windowMs is 0. */
  confirm?: ConfirmOptions;
  /** Existing tables a revision may replace although the agent did not create them (--adopt-tables). */
  adoptTables?: readonly TablePattern[];
}
