/**
 * The agent's `--state-dir`: what is in force on this host and what last failed.
 *
 *   state.json           {version, ref, ruleset, commit, blob, managedTables, appliedAt, tag?,
 *                         release?, lastFailed?, pending?, interrupted?}
 *   applied-BLOB.json    the exact bytes of the confirmed ruleset (git blob `blob`)
 *
 * `tag` is the tag in force under --track-tags (an agent never moves below it, see
 * shared/release/release-guard.ts); `release` the signed release in force (agent/state/release-record.ts).
 * Both belong to the revision in force and are written in the same rename, so no crash can leave
 * one ahead of the other.
 *
 * Every file is written atomically (temporary file, fsync, rename, fsync of the directory), so
 * a crash leaves either the old or the new file, never a torn one. The bytes are stored under
 * their own blob id and written before state.json, so the rename of state.json is the single
 * commit point: a crash before it leaves the old state.json naming the old, still present bytes
 * (the new file is an orphan, removed by the next save). The bytes of a revision about to be
 * applied are written while nft runs (writeAppliedBytes: 20 MB for a 1,000,000-element set), so
 * the save that records it renames state.json only; the bytes in force are never written twice.
 * `pending` is written BEFORE nft applies a new revision: on restart it says that the host may
 * hold an unconfirmed revision and which tables that revision manages, so the confirmed one can
 * be restored over it (see agent/reconcile/confirm-revision.ts). That mark's rename is not made
 * durable (saveState `durable: false`: the file's bytes are synced, the directory is not): it
 * guards against a crash of the agent while the kernel holds the unconfirmed revision, and the
 * page cache outlives the agent; a power loss or a kernel crash empties the kernel's ruleset as
 * well, and the agent then puts the last confirmed revision back at start with or without the
 * mark, so the second journal commit would only delay nft. Every other save is durable. The bytes are re-hashed on every load: state is an input like any
 * other and is verified before use. The file's schema (StateFile) is declared once, with TypeBox,
 * in state-file-schema.ts; AgentState and the other types are derived from it, and loadState runs
 * the check compiled from it at build time (state-file-validator.ts). A legacy applied.json is still read, and so is a legacy
 * release.json (the signed-release record before it moved into state.json), once.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import { writeFileAtomic } from './write-file-atomic.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { knownBlobId } from '../known-blob-id.js';
import { LEGACY_RELEASE_FILE, readLegacyReleaseRecord } from './release-record.js';
import type { AgentState, StateFile } from './state-file-schema.js';
import { validateStateFile as validateState } from './state-file-validator.js';

export type { AgentState, FailedAttempt, PendingRevision, StateFile } from './state-file-schema.js';

export const STATE_FILE = 'state.json';
/** Legacy (pre content-addressed) name of the applied bytes; read, never written. */
export const APPLIED_FILE = 'applied.json';

/** File holding the bytes of blob `blob`. */
export function appliedFileName(blob: string): string {
  return `applied-${blob}.json`;
}
/** state.json's `version`: StateFile's (state-file-schema.ts; `json` below is typed by it). */
const STATE_VERSION = 1 as const;

export interface LoadedState {
  state: AgentState;
  /** The applied ruleset's bytes, verified against `state.blob`; absent when nothing was applied. */
  applied?: Buffer;
  /** Set when `applied` came from the legacy applied.json (applied-BLOB.json is not there yet). */
  legacyApplied?: true;
}

function corrupt(dir: string, why: string, cause?: unknown): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_STATE_CORRUPT', `state directory ${dir}: ${why}; remove it to start afresh (the agent re-applies from the server)`, {
    data: { dir, reason: why },
    cause,
  });
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Read the state from `dir`. Returns undefined when the directory or state.json does not exist.
 * A state.json without `release` takes it from a legacy release.json when there is one.
 * Errors: NFTSYNC_ERR_STATE_CORRUPT when state.json is unreadable, not JSON or malformed, or
 * when applied.json is missing or its git blob id differs from the recorded `blob`.
 */
export async function loadState(dir: string): Promise<LoadedState | undefined> {
  let raw: Buffer | undefined;
  try {
    raw = await readIfExists(join(dir, STATE_FILE));
  } catch (err) {
    throw corrupt(dir, `cannot read ${STATE_FILE}: ${(err as Error).message}`, err);
  }
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw corrupt(dir, `${STATE_FILE} is not valid JSON`, err);
  }
  if (!validateState(value)) {
    const e = validateState.errors?.[0];
    throw corrupt(dir, `${STATE_FILE} is malformed (${e?.instancePath || '/'} ${e?.message ?? ''})`);
  }
  const { version: _version, ...state } = value as StateFile;
  if (state.release === undefined) {
    const legacy = await readLegacyReleaseRecord(dir);
    if (legacy) state.release = legacy;
  }
  if (state.blob === undefined) return { state };
  const file = appliedFileName(state.blob);
  const readErr = (err: unknown): never => {
    throw corrupt(dir, `cannot read ${file}: ${(err as Error).message}`, err);
  };
  const current = await readIfExists(join(dir, file)).catch(readErr);
  const applied = current ?? (await readIfExists(join(dir, APPLIED_FILE)).catch(readErr));
  if (applied === undefined) throw corrupt(dir, `${file} is missing`);
  const actual = knownBlobId(applied, objectIdAlgorithm(state.blob));
  if (actual !== state.blob) throw corrupt(dir, `${file} has blob id ${actual}, not the recorded ${state.blob}`);
  return { state, applied, ...(current === undefined && { legacyApplied: true as const }) };
}

/**
 * Write `bytes` to applied-BLOB.json in `dir` (created if missing), atomically and durably,
 * without touching state.json: the bytes of a revision about to be applied can so reach the disk
 * while nft runs, and the save after it need only rename state.json (saveState without bytes).
 * Until a state.json names `blob` the file is an orphan, which the next saveState removes.
 * Errors: NFTSYNC_ERR_STATE_CORRUPT when `bytes` do not hash to `blob` (refusing to store a lie);
 * file system errors as they come.
 */
export async function writeAppliedBytes(dir: string, blob: string, bytes: Uint8Array): Promise<void> {
  if (knownBlobId(bytes, objectIdAlgorithm(blob)) !== blob) throw corrupt(dir, `refusing to save: the applied bytes do not hash to blob ${blob}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(dir, appliedFileName(blob), bytes);
}

/**
 * Write `state` to `dir` (created if missing), and `appliedBytes` to applied-BLOB.json first
 * when given (writeAppliedBytes; without them, that file must be there already: written by an
 * earlier save or by writeAppliedBytes); then, unless `opts.prune` is false, pruneState: remove
 * applied files of other blobs (never the one state.json names) and, when `state.release` is set,
 * a legacy release.json. Each file is
 * replaced atomically and, unless `opts.durable` is false (state.json's rename not synced: see
 * the pending mark in the file comment), made durable before this resolves;
 * the rename of state.json is the commit point. Errors: NFTSYNC_ERR_STATE_CORRUPT when `appliedBytes` does not hash to
 * `state.blob` (refusing to record a lie); file system errors as they come.
 */
export async function saveState(dir: string, state: AgentState, appliedBytes?: Uint8Array, opts: { prune?: boolean; durable?: boolean } = {}): Promise<void> {
  if (appliedBytes !== undefined) {
    if (state.blob === undefined) throw corrupt(dir, 'refusing to save: applied bytes without a blob');
    await writeAppliedBytes(dir, state.blob, appliedBytes);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file: StateFile = { version: STATE_VERSION, ...state };
  const json = `${JSON.stringify(file, null, 2)}\n`;
  await writeFileAtomic(dir, STATE_FILE, Buffer.from(json), { durable: opts.durable !== false });
  if (opts.prune !== false) await pruneState(dir, state);
}

/**
 * Remove what `state`, just saved in `dir`, makes garbage: the applied files of other blobs
 * (never the one it names) and, when it carries a release record, a legacy release.json. Part
 * of saveState unless told `prune: false` (the reconciler then calls it once the pass's outcome
 * is out: unlinking 20 MB takes about 5 ms, and an orphan left by a crash is harmless, removed
 * by the next save). Errors: file system errors as they come.
 */
export async function pruneState(dir: string, state: AgentState): Promise<void> {
  // Only now, with state.json naming its blob (and carrying the release record), are the other
  // applied files and a legacy release.json garbage.
  if (state.release !== undefined) await rm(join(dir, LEGACY_RELEASE_FILE), { force: true });
  const keep = state.blob === undefined ? undefined : appliedFileName(state.blob);
  for (const name of await readdir(dir)) {
    if (name.startsWith('applied-') && name.endsWith('.json') && name !== keep) await rm(join(dir, name), { force: true });
  }
}

/** True when `commit`/`blob` is the revision that last failed: do not retry it in a loop. */
export function isKnownBadRevision(state: AgentState | undefined, commit: string, blob: string): boolean {
  return state?.lastFailed !== undefined && state.lastFailed.commit === commit && state.lastFailed.blob === blob;
}

