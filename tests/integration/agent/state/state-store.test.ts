import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { join } from 'node:path';
import { appliedFileName, STATE_FILE, isKnownBadRevision, loadState, pruneState, saveState, writeAppliedBytes } from '../../../../agent/state/state-store.js';
import { AgentState, StateFile } from '../../../../agent/state/state-file-schema.js';
import { emptyState, stateAfterRefusal } from '../../../../agent/state/transitions.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { expectCode } from '../../../helpers/expect-code.js';

const BYTES = Buffer.from('{"nftables":[{"table":{"family":"inet","name":"nft_sync"}}]}\n');
const COMMIT = 'a'.repeat(40);
const STATE: AgentState = {
  ref: 'main', ruleset: 'default', commit: COMMIT, blob: gitBlobId(BYTES),
  managedTables: [{ family: 'inet', name: 'nft_sync' }], appliedAt: '2026-01-01T00:00:00.000Z',
};

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = makeTempDir(t, 'nft-sync-state-');
  return dir;
}


test('missing directory or state: undefined', async (t) => {
  const dir = await tmp(t);
  assert.equal(await loadState(join(dir, 'nope')), undefined);
  assert.equal(await loadState(dir), undefined);
});

test('round trip, atomically, no temporary files left', async (t) => {
  const dir = join(await tmp(t), 'state');
  await saveState(dir, STATE, BYTES);
  const loaded = await loadState(dir);
  assert.deepEqual(loaded, { state: STATE, applied: BYTES });
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(STATE.blob!), STATE_FILE]);
});

test('corruption is detected', async (t) => {
  const cases: [string, (dir: string) => Promise<void>][] = [
    ['applied bytes changed', (d) => writeFile(join(d, appliedFileName(STATE.blob!)), '{"nftables":[]}')],
    ['applied bytes missing', (d) => rm(join(d, appliedFileName(STATE.blob!)))],
    ['state not JSON', (d) => writeFile(join(d, STATE_FILE), '{"ref":')],
    ['state malformed', (d) => writeFile(join(d, STATE_FILE), '{"version":1,"ref":"main"}')],
    ['bad blob id', (d) => writeFile(join(d, STATE_FILE), JSON.stringify({ version: 1, ...STATE, blob: 'xyz' }))],
  ];
  for (const [name, damage] of cases) {
    const dir = join(await tmp(t), name.replace(/ /g, '-'));
    await saveState(dir, STATE, BYTES);
    await damage(dir);
    assert.ok(await expectCode(loadState(dir), 'NFTSYNC_ERR_STATE_CORRUPT'), name);
  }
  await expectCode(saveState(await tmp(t), STATE, Buffer.from('other bytes')), 'NFTSYNC_ERR_STATE_CORRUPT'); // refuses bytes that do not match
});

test('a failed attempt, recorded by the refusal transition, survives a save so the same revision is not retried', async (t) => {
  const dir = await tmp(t);
  const attempt = { commit: 'b'.repeat(40), blob: 'c'.repeat(40), code: 'NFTSYNC_ERR_NFT_APPLY', message: 'refused', at: '2026-01-01T00:00:01.000Z' };
  await saveState(dir, stateAfterRefusal(emptyState('main', 'default'), undefined, attempt));
  const fresh = await loadState(dir);
  assert.deepEqual(fresh, { state: { ref: 'main', ruleset: 'default', managedTables: [], lastFailed: attempt } });
  assert.equal(isKnownBadRevision(fresh?.state, attempt.commit, attempt.blob), true);
  assert.equal(isKnownBadRevision(fresh?.state, COMMIT, attempt.blob), false);
  await saveState(dir, STATE, BYTES);
  await saveState(dir, stateAfterRefusal((await loadState(dir))!.state, undefined, attempt));
  const kept = await loadState(dir);
  assert.deepEqual(kept, { state: { ...STATE, lastFailed: attempt }, applied: BYTES }, 'the applied revision is kept');
});

test('a crash between writing the new bytes and state.json leaves the old state loadable', async (t) => {
  const dir = await tmp(t);
  await saveState(dir, STATE, BYTES);
  // What a crash after the new bytes' rename but before state.json's leaves behind.
  const other = Buffer.from('{"nftables":[]}\n');
  await writeFile(join(dir, appliedFileName(gitBlobId(other))), other);
  assert.deepEqual(await loadState(dir), { state: STATE, applied: BYTES });
  // The next save removes the orphan.
  await saveState(dir, STATE, BYTES);
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(STATE.blob!), STATE_FILE]);
});

test('writeAppliedBytes stages the next bytes beside the state in force: state.json unchanged, the file an orphan until a save names it; a lie is refused', async (t) => {
  const dir = await tmp(t);
  await saveState(dir, STATE, BYTES);
  const next = Buffer.from('{"nftables":[{"table":{"family":"ip","name":"x"}}]}\n');
  const blob = gitBlobId(next);
  await writeAppliedBytes(dir, blob, next);
  assert.deepEqual(await loadState(dir), { state: STATE, applied: BYTES }, 'the state in force is untouched');
  assert.deepEqual(await readFile(join(dir, appliedFileName(blob))), next);
  await expectCode(writeAppliedBytes(dir, 'd'.repeat(40), next), 'NFTSYNC_ERR_STATE_CORRUPT');
  // Recorded without the bytes: the staged file is the one named; the old one goes, at once or
  // when pruned later (prune: false, as the reconciler saves before its outcome is out).
  await saveState(dir, { ...STATE, blob }, undefined, { prune: false });
  assert.deepEqual(await loadState(dir), { state: { ...STATE, blob }, applied: next });
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(STATE.blob!), appliedFileName(blob), STATE_FILE].sort());
  await pruneState(dir, { ...STATE, blob });
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(blob), STATE_FILE]);
  await saveState(dir, STATE, BYTES);
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(STATE.blob!), STATE_FILE]);
});

test('pending and interrupted round trip', async (t) => {
  const dir = await tmp(t);
  const pending = { commit: 'b'.repeat(40), blob: 'c'.repeat(40), ruleset: 'default', managedTables: [{ family: 'ip' as const, name: 'x' }], startedAt: 'now' };
  const st: AgentState = { ...STATE, pending, interrupted: { blob: 'c'.repeat(40), count: 2 } };
  await saveState(dir, st, BYTES);
  assert.deepEqual(await loadState(dir), { state: st, applied: BYTES });
});

test('the tag in force and the signed-release record round trip in state.json; a legacy release.json is read once, then dropped', async (t) => {
  const dir = await tmp(t);
  const release = { ref: 'track:v*', tag: 'v2.0.0', tagId: 'd'.repeat(40), taggerTime: 1_780_000_000 };
  // An older agent's directory: state.json without them, the record in release.json.
  await saveState(dir, STATE, BYTES);
  await writeFile(join(dir, 'release.json'), JSON.stringify(release));
  const legacy = await loadState(dir);
  assert.deepEqual(legacy?.state.release, release);
  // The next save commits the record in state.json, and only then drops release.json.
  await saveState(dir, { ...legacy!.state, tag: 'v2.0.0' }, BYTES);
  assert.deepEqual((await readdir(dir)).sort(), [appliedFileName(STATE.blob!), STATE_FILE]);
  assert.deepEqual(await loadState(dir), { state: { ...STATE, tag: 'v2.0.0', release }, applied: BYTES });
  // A stale release.json beside a state.json that has a record is ignored.
  await writeFile(join(dir, 'release.json'), JSON.stringify({ ...release, tag: 'v1.0.0', taggerTime: 1 }));
  assert.deepEqual((await loadState(dir))?.state.release, release);
});

test('state.json is declared once (StateFile, TypeBox): what saveState writes is that schema, the state without its version is AgentState', async (t) => {
  const dir = await tmp(t);
  const full: AgentState = {
    ...STATE,
    tag: 'v1.0.0',
    release: { ref: 'track:v*', tag: 'v1.0.0', tagId: 'b'.repeat(40), taggerTime: 1_700_000_000 },
    pending: { commit: COMMIT, blob: gitBlobId(BYTES), ruleset: 'default', managedTables: [], startedAt: '2026-01-01T00:00:00.000Z' },
    interrupted: { blob: gitBlobId(BYTES), count: 1 },
    lastFailed: { commit: COMMIT, blob: gitBlobId(BYTES), code: 'NFTSYNC_ERR_NFT_APPLY', message: 'x', at: '2026-01-01T00:00:00.000Z' },
  };
  await saveState(dir, full, BYTES);
  const written = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
  const check = new Ajv({ strict: true }).compile(StateFile);
  assert.equal(check(written), true, JSON.stringify(check.errors));
  assert.deepEqual(Object.keys(StateFile.properties).filter((k) => k !== 'version'), Object.keys(AgentState.properties));
  assert.deepEqual(Object.keys(written).sort(), Object.keys(StateFile.properties).sort(), 'this state uses every field the schema declares');
  assert.deepEqual((await loadState(dir))?.state, full);
  // A field the schema does not know is a compile error in the derived type.
  // @ts-expect-error `pendng` is not a field of AgentState.
  const typo: AgentState = { ...STATE, pendng: undefined };
  assert.ok(typo);
});
