/**
 * The signed release in force, so a server cannot roll a moving release tag (`stable`) back by
 * replaying an older signed tag object of the same name: a tag whose tagger time is older than
 * the one in force for the same ref is refused.
 *
 * The record lives in state.json (`release`, agent/state/state-store.ts), written in the same atomic
 * rename as the revision it belongs to: a crash can never leave a newer revision in force with
 * an older record (which would let the server replay a tag in between). Agents before that kept
 * it in `release.json`; loadState still reads that file once, and the next save drops it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import type { CheckedRelease } from '../../shared/release/release-proof.js';
import type { ReleaseRecord } from './state-file-schema.js';

export type { ReleaseRecord } from './state-file-schema.js';

/** The file older agents kept the record in; read for compatibility, never written. */
export const LEGACY_RELEASE_FILE = 'release.json';

/** True when `r` has the shape of a ReleaseRecord. */
export function isReleaseRecord(r: unknown): r is ReleaseRecord {
  const o = r as Partial<ReleaseRecord> | null;
  return typeof o === 'object' && o !== null && typeof o.ref === 'string' && typeof o.tagId === 'string' && typeof o.tag === 'string' && Number.isInteger(o.taggerTime);
}

/**
 * The record an older agent left in `release.json`, or undefined when there is none or it
 * cannot be read (then nothing is compared, as before). Errors: none.
 */
export async function readLegacyReleaseRecord(stateDir: string): Promise<ReleaseRecord | undefined> {
  try {
    const r: unknown = JSON.parse(await readFile(join(stateDir, LEGACY_RELEASE_FILE), 'utf8'));
    if (isReleaseRecord(r)) return { ref: r.ref, tag: r.tag, tagId: r.tagId, taggerTime: r.taggerTime };
  } catch {
    // no record
  }
  return undefined;
}

/** The record of `checked`, kept under `ref` (the ref followed, or `track:PATTERN`). Pure. */
export function releaseRecordOf(ref: string, checked: CheckedRelease): ReleaseRecord {
  return { ref, tag: checked.tag.tag, tagId: checked.tagId, taggerTime: checked.tag.taggerTime };
}

/**
 * Refuse `checked` when it is an older release of the same ref than `inForce`. With
 * `otherTagAllowed` (a tracked pattern under --allow-downgrade) a tag of another name passes:
 * the operator asked to go back to a lower version, which may well be older; a replayed object
 * of the tag in force is still refused. Errors: NFTSYNC_ERR_VERIFY_REPLAY.
 */
export function assertNotOlder(inForce: ReleaseRecord | undefined, ref: string, checked: CheckedRelease, opts: { otherTagAllowed?: boolean } = {}): void {
  if (!inForce || inForce.ref !== ref || checked.tag.taggerTime >= inForce.taggerTime) return;
  if (opts.otherTagAllowed && checked.tag.tag !== inForce.tag) return;
  throw new NftSyncError(
    'NFTSYNC_ERR_VERIFY_REPLAY',
    `tag ${checked.tag.tag} (${checked.tagId.slice(0, 12)}) was made at ${new Date(checked.tag.taggerTime * 1000).toISOString()}, before the release in force (${inForce.tag} ${inForce.tagId.slice(0, 12)}, ${new Date(inForce.taggerTime * 1000).toISOString()}): refusing a rollback`,
    { data: { tagId: checked.tagId, inForce: inForce.tagId } },
  );
}
