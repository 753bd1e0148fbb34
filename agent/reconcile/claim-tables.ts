/**
 * Tables that nft-sync does not own are never replaced. A revision may declare a table the
 * agent never put in force (a new table, or the first revision on a host); such a table is
 * created, not reset, by the apply transaction (shared/ruleset/apply-plan.ts), so a table that exists
 * already makes nft refuse the whole batch with EEXIST. Two things here complete that:
 *
 * - assertTablesFree, before the revision is marked pending: one `nft list tables`, only when the
 *   revision declares a table the agent neither owns nor may adopt (a first apply, a new table;
 *   never in the steady state, where listing would cost as much as a big set). It refuses early,
 *   naming the table. It also keeps crash recovery honest: the pending mark lists the tables the
 *   revision will own, and a restart restores over them, deleting them. Listing first means a
 *   table in that mark either is the agent's or did not exist a moment before the apply.
 * - tablesNotOwnedError, used when nft answered EEXIST anyway (a table created in between): the
 *   caller lists the tables once to name the culprit.
 */
import { tablesToCreate } from '../../shared/ruleset/apply-plan.js';
import { NftSyncError } from '../../shared/errors.js';
import type { TableRef } from '../../shared/ruleset/ruleset-types.js';
import { tableMatches, type TablePattern } from '../../shared/ruleset/table-pattern.js';
import type { NftRunner } from '../../host/nft-runner.js';

const key = (t: TableRef): string => `${t.family} ${t.name}`;

/** `owned` plus the tables of `declared` that `adopt` names: what a transaction may replace. */
export function ownedWithAdopted(declared: readonly TableRef[], owned: readonly TableRef[], adopt: readonly TablePattern[]): TableRef[] {
  const have = new Set(owned.map(key));
  return [...owned, ...declared.filter((t) => !have.has(key(t)) && tableMatches(adopt, t))];
}

/**
 * NFTSYNC_ERR_TABLE_NOT_OWNED for `tables`, existing on the host, that a revision declares but
 * the agent did not create.
 */
export function tablesNotOwnedError(tables: readonly TableRef[]): NftSyncError {
  const names = tables.map(key);
  const list = names.map((n) => `"${n}"`).join(', ');
  return new NftSyncError(
    'NFTSYNC_ERR_TABLE_NOT_OWNED',
    `the revision declares table ${list}, which already exists on this host and was not created by nft-sync (fail2ban, Docker and kube-proxy keep their own tables); refusing to replace it. Rename the table in the ruleset, or give the agent (or pull) --adopt-tables '${names.join(',')}' to let revisions replace it`,
    { data: { tables: names } },
  );
}

/**
 * Refuse, before anything changes, a revision that declares a table that exists on the host and
 * that the agent neither owns (`owned`) nor may adopt (`adopt`). Lists the host's tables only
 * when some declared table is new to the agent. Errors: NFTSYNC_ERR_TABLE_NOT_OWNED (naming the
 * tables), NFTSYNC_ERR_NFT_LIST.
 */
export async function assertTablesFree(nft: NftRunner, declared: readonly TableRef[], owned: readonly TableRef[], adopt: readonly TablePattern[]): Promise<void> {
  const created = tablesToCreate(declared, ownedWithAdopted(declared, owned, adopt));
  if (created.length === 0) return;
  const present = new Set((await nft.listTables()).map(key));
  const taken = created.filter((t) => present.has(key(t)));
  if (taken.length > 0) throw tablesNotOwnedError(taken);
}
