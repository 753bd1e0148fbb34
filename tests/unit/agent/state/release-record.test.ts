/**
 * agent/state/release-record.ts: the signed release in force, its shape check, the record an
 * older agent left in release.json, and the refusal of an older tag of the same ref (a replay).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertNotOlder, isReleaseRecord, LEGACY_RELEASE_FILE, readLegacyReleaseRecord, releaseRecordOf, type ReleaseRecord } from '../../../../agent/state/release-record.js';
import type { CheckedRelease } from '../../../../shared/release/release-proof.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

const checked = (tag: string, taggerTime: number, tagId = 'a'.repeat(40)): CheckedRelease => ({ tag: { tag, taggerTime }, tagId }) as unknown as CheckedRelease;
const record: ReleaseRecord = { ref: 'stable', tag: 'stable', tagId: 'b'.repeat(40), taggerTime: 2000 };

test('isReleaseRecord: the four fields with their types, nothing less', () => {
  assert.equal(isReleaseRecord(record), true);
  for (const bad of [null, 'x', {}, { ...record, taggerTime: 1.5 }, { ...record, tagId: 1 }, { ref: 'stable', tag: 'stable', tagId: 'b' }]) assert.equal(isReleaseRecord(bad), false, JSON.stringify(bad));
});

test('releaseRecordOf: the tag name, id and tagger time of the checked release, under the ref followed', () => {
  assert.deepEqual(releaseRecordOf('track:v*', checked('v1.2.0', 1234, 'c'.repeat(40))), { ref: 'track:v*', tag: 'v1.2.0', tagId: 'c'.repeat(40), taggerTime: 1234 });
});

test('assertNotOlder: an older tag of the same ref is a replay (NFTSYNC_ERR_VERIFY_REPLAY); same age, newer, another ref or nothing in force pass', () => {
  assert.throws(() => assertNotOlder(record, 'stable', checked('stable', 1999)), (err: Error & { code?: string; data?: unknown }) => {
    assert.equal(err.code, 'NFTSYNC_ERR_VERIFY_REPLAY');
    assert.deepEqual(err.data, { tagId: 'a'.repeat(40), inForce: 'b'.repeat(40) });
    return true;
  });
  assertNotOlder(record, 'stable', checked('stable', 2000));
  assertNotOlder(record, 'stable', checked('stable', 2001));
  assertNotOlder(record, 'other', checked('stable', 1));
  assertNotOlder(undefined, 'stable', checked('stable', 1));
});

test('assertNotOlder with otherTagAllowed (--allow-downgrade): an older tag of another name passes, the tag in force replayed does not', () => {
  const tracked: ReleaseRecord = { ref: 'track:v*', tag: 'v2.0.0', tagId: 'b'.repeat(40), taggerTime: 2000 };
  assertNotOlder(tracked, 'track:v*', checked('v1.0.0', 1000), { otherTagAllowed: true });
  assert.throws(() => assertNotOlder(tracked, 'track:v*', checked('v1.0.0', 1000)), { code: 'NFTSYNC_ERR_VERIFY_REPLAY' });
  assert.throws(() => assertNotOlder(tracked, 'track:v*', checked('v2.0.0', 1000), { otherTagAllowed: true }), { code: 'NFTSYNC_ERR_VERIFY_REPLAY' });
});

test('readLegacyReleaseRecord: the record in release.json (extra fields dropped); none, unreadable or malformed gives undefined', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-release-');
  assert.equal(await readLegacyReleaseRecord(dir), undefined);
  writeFileSync(join(dir, LEGACY_RELEASE_FILE), JSON.stringify({ ...record, extra: 1 }));
  assert.deepEqual(await readLegacyReleaseRecord(dir), record);
  writeFileSync(join(dir, LEGACY_RELEASE_FILE), '{not json');
  assert.equal(await readLegacyReleaseRecord(dir), undefined);
  writeFileSync(join(dir, LEGACY_RELEASE_FILE), JSON.stringify({ ...record, taggerTime: 'x' }));
  assert.equal(await readLegacyReleaseRecord(dir), undefined);
});
