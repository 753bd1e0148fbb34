/**
 * What the host is known to hold besides the revision in force: after `agent --publish` sent its
 * live tables to the server, the host holds that state (the listing it published), and the commit
 * the server makes of it comes back as a new revision of the branch. Loading that revision again
 * would be a full nft load of what the host already has (for a big set, seconds of work and a
 * storm of events), so the apply step takes it as applied without running nft when the revision
 * reads the same as the published listing (shared/ruleset/ruleset-normalise.ts). A revision that
 * also carries others' changes (the server rebased the live change onto a moved branch) differs,
 * and is applied as usual. Pure.
 */
import { normaliseRuleset } from '../../shared/ruleset/ruleset-normalise.js';
import { managedTables } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../shared/ruleset/ruleset-types.js';

/** The state the host held when it was published. */
export interface HostHolds {
  /** JSON of normaliseRuleset(listing, tables): what the managed tables held. */
  canon: string;
  /** The managed tables that were listed (the revision in force's). */
  tables: readonly TableRef[];
  /** The commit in force when the listing was taken (the publish's base). */
  base: string;
  /** The commit the server answered with (for the log). */
  commit: string;
}

const key = (t: TableRef): string => `${t.family} ${t.name}`;

/**
 * True when applying `target` over `inForceCommit` would leave the host as `held` says it is
 * already: the revision in force is still the one the listing was taken over, no older attempt's
 * pending mark is left (its tables were not listed), every table `target` declares was listed,
 * and `target` normalises over the listed tables to the listing (a listed table it no longer
 * declares must be absent from the listing too). Never throws.
 */
export function hostHoldsAlready(held: HostHolds | undefined, target: Ruleset, host: { inForceCommit: string | undefined; pendingLeftover: boolean }): boolean {
  if (held === undefined || host.pendingLeftover || host.inForceCommit !== held.base) return false;
  const listed = new Set(held.tables.map(key));
  if (!managedTables(target).every((t) => listed.has(key(t)))) return false;
  return JSON.stringify(normaliseRuleset(target, held.tables)) === held.canon;
}
