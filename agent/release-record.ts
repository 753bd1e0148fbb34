/**
 * The signed release in force (`release.json` in the state directory), so a server cannot
 * roll a moving release tag (`stable`) back by replaying an older signed tag object of the same
 * name: a tag whose tagger time is older than the one in force for the same ref is refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NftSyncError } from '../shared/errors.js';
import type { CheckedRelease } from '../shared/release-proof.js';
import { writeFileAtomic } from './write-file-atomic.js';

export const RELEASE_FILE = 'release.json';

export interface ReleaseRecord {
  ref: string;
  tag: string;
  tagId: string;
  /** Tagger time stamp, seconds since the epoch. */
  taggerTime: number;
}

/** The record, or undefined when there is none or it cannot be read (then nothing is compared). */
export async function readReleaseRecord(stateDir: string): Promise<ReleaseRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(join(stateDir, RELEASE_FILE), 'utf8')) as Partial<ReleaseRecord>;
    if (typeof r.ref === 'string' && typeof r.tagId === 'string' && typeof r.tag === 'string' && Number.isInteger(r.taggerTime)) return r as ReleaseRecord;
  } catch {
    // no record yet
  }
  return undefined;
}

/**
 * Refuse `checked` when it is an older release of the same ref than `inForce`.
 * Errors: NFTSYNC_ERR_VERIFY_REPLAY.
 */
export function assertNotOlder(inForce: ReleaseRecord | undefined, ref: string, checked: CheckedRelease): void {
  if (!inForce || inForce.ref !== ref || checked.tag.taggerTime >= inForce.taggerTime) return;
  throw new NftSyncError(
    'NFTSYNC_ERR_VERIFY_REPLAY',
    `tag ${checked.tag.tag} (${checked.tagId.slice(0, 12)}) was made at ${new Date(checked.tag.taggerTime * 1000).toISOString()}, before the release in force (${inForce.tagId.slice(0, 12)}, ${new Date(inForce.taggerTime * 1000).toISOString()}): refusing a rollback`,
    { data: { tagId: checked.tagId, inForce: inForce.tagId } },
  );
}

/** Write the record atomically (agent/write-file-atomic.ts). Errors: the file system's. */
export async function writeReleaseRecord(stateDir: string, ref: string, checked: CheckedRelease): Promise<void> {
  const record: ReleaseRecord = { ref, tag: checked.tag.tag, tagId: checked.tagId, taggerTime: checked.tag.taggerTime };
  await writeFileAtomic(stateDir, RELEASE_FILE, Buffer.from(JSON.stringify(record) + '\n'));
}
