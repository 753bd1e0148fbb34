/**
 * The agent's apply step: put a parsed ruleset in force with one atomic nft transaction
 * (applyTransaction), and applyRuleset, which reads it back too (agent/reconcile/read-back.ts).
 *
 * Moving from a revision it knows is in force (`inForce`), the transaction is the minimal one
 * (shared/ruleset/minimal-transaction.ts: only the elements, chains and tables that changed)
 * where the cost model says it is cheaper than the full replacement; if nft refuses it, the full
 * replacement follows, so a delta never leaves the host worse off than before.
 *
 * Cost is kept close to a bare `nft -j -f`: the batch is serialised once and fed on stdin; the
 * dry run (`nft -c`, as costly as a real load on nft 1.0.6) is off unless asked for, since the
 * real apply is atomic anyway and refuses exactly what the dry run would.
 */
import { buildApplyTransaction, tablesToCreate } from '../../shared/ruleset/apply-plan.js';
import type { ElementHint } from '../../shared/ruleset/element-hint.js';
import { planMinimalTransaction, type MinimalTransaction } from '../../shared/ruleset/minimal-transaction.js';
import { NftSyncError } from '../../shared/errors.js';
import { locateNftError } from '../../shared/nft/nft-error-location.js';
import { managedTables as declaredTables } from '../../shared/ruleset/ruleset-schema.js';
import type { Ruleset, TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { TablePattern } from '../../shared/ruleset/table-pattern.js';
import { ownedWithAdopted, tablesNotOwnedError } from './claim-tables.js';
import { isNftRefusal, type NftRunner } from '../../host/nft-runner.js';
import { readBack, type ReadBack, type VerifyMode } from './read-back.js';

export type { VerifyMode };

export interface ApplyRulesetOptions {
  nft: NftRunner;
  ruleset: Ruleset;
  /**
   * Tables the agent owns (the previous revision's, and any a pending mark names): declared ones
   * are replaced, the others deleted. A declared table not owned is created, and the transaction
   * fails if it exists (NFTSYNC_ERR_TABLE_NOT_OWNED).
   */
  previouslyManaged?: readonly TableRef[];
  /** Tables that exist and may be replaced all the same (--adopt-tables). */
  adopt?: readonly TablePattern[];
  /** Dry-run the transaction with `nft -c` before applying it (default false). */
  check?: boolean;
  /** Read-back verification (default 'auto': 'full' up to AUTO_FULL_MAX_ELEMENTS set elements, else 'off'). */
  verify?: VerifyMode;
  /**
   * The ruleset in force on the host and unchanged since the agent applied it (its last applied
   * revision, no drift outstanding: agent/reconcile/delta-base.ts). When given, the minimal
   * transaction from it to `ruleset` (shared/ruleset/minimal-transaction.ts) is applied where the
   * cost model prefers it to the full replacement; if nft refuses that delta (nothing changed: it
   * is atomic), the full replacement is applied instead. Without it, always the full replacement.
   */
  inForce?: Ruleset;
  /**
   * With `inForce`: which elements changed from it to `ruleset`, proven from the two revisions'
   * bytes (agent/reconcile/delta-hint.ts), so the plan need not compare them one by one.
   */
  hint?: ElementHint;
}

/** applyTransaction's options. */
export interface ApplyTransactionOptions extends Omit<ApplyRulesetOptions, 'verify'> {
  /**
   * With `inForce`: a delta batch nft was given before the plan was made (agent/reconcile/
   * early-apply.ts). It stands when it is the plan's batch to the byte, whatever nft made of it
   * (a refusal then leads to the full replacement, as any delta's); when it is not the plan's,
   * the full replacement follows once it ended, whatever it did.
   */
  started?: { batch: string; done: Promise<NftSyncError | undefined> };
}

/** Which transaction put the ruleset in force. */
export interface TransactionChoice {
  /** 'delta': only what changed since `inForce`; 'full': the full replacement. */
  kind: 'delta' | 'full';
  /** What the delta did, or why the full replacement was chosen. */
  reason: string;
  /** Set when a delta was tried and nft refused it: nft's message (the full replacement followed). */
  deltaRefused?: string;
  /** Set when the element changes were taken from `hint` (not compared one by one). */
  hinted?: true;
  /** Set when nft was given the batch before the plan was made (ApplyTransactionOptions.started). */
  early?: true;
}

export interface ApplyRulesetResult {
  /** The tables this ruleset manages: record them for the next apply's `previouslyManaged`. */
  managedTables: TableRef[];
  /** Wall time of the whole step, read-back included. */
  durationMs: number;
  /** Which transaction put the ruleset in force (a delta from `inForce`, or the full replacement). */
  transaction: TransactionChoice;
  /** What the read-back found (agent/reconcile/read-back.ts): the transaction happened either way. */
  readback: ReadBack;
}

/** What the transaction alone did (applyTransaction). */
export interface AppliedTransaction {
  /** The tables this ruleset manages: record them for the next apply's `previouslyManaged`. */
  managedTables: TableRef[];
  durationMs: number;
  /** Which transaction it was (a delta from `inForce`, or the full replacement). */
  transaction: TransactionChoice;
}

/**
 * Apply `ruleset` atomically: every table it declares that the agent owns (or adopts) is
 * replaced, every other table it declares is created, every table of `previouslyManaged` it no
 * longer declares is deleted, all other tables are left untouched. Nothing is read back.
 * With `inForce`, only what changed is sent where that is cheaper (applyDelta); a delta nft
 * refuses is followed by the full replacement, whose errors are then the ones below.
 * Errors (nothing changed in each case): NFTSYNC_ERR_TABLE_NOT_OWNED (a declared table the
 * agent does not own exists: nft refused the batch with EEXIST; the tables are listed once to
 * name it), NFTSYNC_ERR_NFT_CHECK (dry run refused), NFTSYNC_ERR_NFT_APPLY (nft refused the
 * batch; the message and `data.pointer` name the object at fault when nft's message allows),
 * NFTSYNC_ERR_NFT_EXEC (nft could not run); NFTSYNC_ERR_NFT_TIMEOUT (nft was killed at its time
 * limit: whether the transaction committed is unknown).
 */
export async function applyTransaction(options: ApplyTransactionOptions): Promise<AppliedTransaction> {
  const started = performance.now();
  const { nft, ruleset } = options;
  const managed = declaredTables(ruleset);
  const owned = ownedWithAdopted(managed, options.previouslyManaged ?? [], options.adopt ?? []);
  const transaction = await applyDelta(options, owned);
  if (transaction.kind === 'full') {
    const batch = JSON.stringify(buildApplyTransaction(ruleset, owned));
    try {
      if (options.check === true) await nft.checkJson(batch);
      await nft.applyJson(batch);
    } catch (err) {
      const taken = await nameTakenTables(err, nft, tablesToCreate(managed, owned));
      throw taken === err ? withLocation(err, ruleset, owned) : taken;
    }
  }
  return { managedTables: managed, durationMs: Math.round(performance.now() - started), transaction };
}

/**
 * applyTransaction, then the read-back (unless `verify` is 'off'). A read-back that differs or
 * cannot be made is data in the result (`readback.ok` false, with `differences` or `error`),
 * not an exception: the transaction has happened by then, and the caller decides what follows.
 * Errors: those of applyTransaction (nothing changed).
 */
export async function applyRuleset(options: ApplyRulesetOptions): Promise<ApplyRulesetResult> {
  const started = performance.now();
  const applied = await applyTransaction(options);
  const readback = await readBack(options.nft, options.ruleset, options.verify ?? 'auto', applied.transaction.kind === 'full' ? { loadedAt: started } : {});
  return { managedTables: applied.managedTables, durationMs: Math.round(performance.now() - started), transaction: applied.transaction, readback };
}

/**
 * With `inForce`, plan the minimal transaction and apply it when it is a delta (an empty delta
 * runs no nft at all). Its confirmation is nft's exit status: the batch is atomic, and each of
 * its element deletes, flushes and deletes fails the whole batch when its object is not there, so
 * success means the host went from `inForce` to `ruleset` exactly as planned; nothing is listed
 * (a listing of a 1,000,000-element set takes 20 s). The read-back step still runs where 'auto'
 * allows it, and the drift watcher follows the transaction's events as the agent's own.
 * Returns kind 'full' when the full replacement must follow: planned so, or the delta refused by
 * nft or its dry run (`deltaRefused`). Errors: NFTSYNC_ERR_NFT_EXEC and NFTSYNC_ERR_NFT_TIMEOUT
 * (nft could not run the delta: not retried as a full replacement).
 */
async function applyDelta(options: ApplyTransactionOptions, owned: readonly TableRef[]): Promise<TransactionChoice> {
  if (options.inForce === undefined) {
    await options.started?.done;
    return { kind: 'full', reason: 'no revision in force to start from' };
  }
  const plan = planMinimalTransaction(options.inForce, options.ruleset, owned, options.hint);
  const hinted = plan.hinted ? { hinted: true as const } : {};
  if (options.started !== undefined) return settleStarted(options.started, plan, hinted);
  if (plan.kind === 'full') return { kind: 'full', reason: plan.reason, ...hinted };
  if (plan.batch.nftables.length === 0) return { kind: 'delta', reason: plan.reason, ...hinted };
  const batch = JSON.stringify(plan.batch);
  try {
    if (options.check === true) await options.nft.checkJson(batch);
    await options.nft.applyJson(batch);
  } catch (err) {
    if (!isNftRefusal(err)) throw err;
    return { kind: 'full', reason: plan.reason, deltaRefused: err.message, ...hinted };
  }
  return { kind: 'delta', reason: plan.reason, ...hinted };
}

/**
 * How the batch started before `plan` was made ends: the plan's delta when it was the plan's batch
 * and nft committed it; the full replacement to follow when nft refused it (`deltaRefused`) or it
 * was not the plan's batch (whatever nft did with it). Errors: NFTSYNC_ERR_NFT_EXEC and
 * NFTSYNC_ERR_NFT_TIMEOUT of the plan's own batch (as applyDelta's).
 */
async function settleStarted(started: NonNullable<ApplyTransactionOptions['started']>, plan: MinimalTransaction, hinted: { hinted?: true }): Promise<TransactionChoice> {
  const error = await started.done;
  if (plan.kind !== 'delta' || JSON.stringify(plan.batch) !== started.batch) {
    return { kind: 'full', reason: `the element batch started before the plan was not the plan's (${plan.kind}: ${plan.reason}); replaced whole`, early: true, ...hinted };
  }
  if (error === undefined) return { kind: 'delta', reason: plan.reason, early: true, ...hinted };
  if (!isNftRefusal(error)) throw error;
  return { kind: 'full', reason: plan.reason, deltaRefused: error.message, early: true, ...hinted };
}

/**
 * When nft refused a batch that creates `created` with EEXIST, the error naming which of them
 * exist (one listing); otherwise `err` itself.
 */
async function nameTakenTables(err: unknown, nft: NftRunner, created: readonly TableRef[]): Promise<unknown> {
  if (!(err instanceof NftSyncError) || created.length === 0) return err;
  if (!/File exists/.test(`${err.message} ${String(err.data?.stderr ?? '')}`)) return err;
  let present: Set<string>;
  try {
    present = new Set((await nft.listTables()).map((t) => `${t.family} ${t.name}`));
  } catch {
    return err;
  }
  const taken = created.filter((t) => present.has(`${t.family} ${t.name}`));
  return taken.length > 0 ? tablesNotOwnedError(taken) : err;
}

/**
 * nft's refusal, with the object at fault named where nft's message allows it cheaply (no
 * bisection on a host: see shared/nft/nft-error-location.ts): `… (at rule 3 of chain inet filter
 * input, /nftables/17)`, and `data.pointer` / `data.object`.
 */
function withLocation(err: unknown, ruleset: Ruleset, previous: readonly TableRef[]): unknown {
  if (!isNftRefusal(err)) return err;
  const at = locateNftError(String(err.data?.stderr ?? ''), ruleset, previous);
  if (at === undefined) return err;
  return new NftSyncError(err.code, `${err.message} (at ${at.what}, ${at.pointer})`, { data: { ...err.data, pointer: at.pointer, object: at.what }, cause: err });
}
