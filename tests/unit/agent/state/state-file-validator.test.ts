/**
 * state-file-validator.ts is generated at build time from StateFile (scripts/generate-validators.ts):
 * it must be what the schema compiles to now, and decide and report exactly as ajv compiling the
 * schema at run time (what loadState did before) does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { generatedValidators } from '../../../../scripts/generate-validators.js';
import { StateFile } from '../../../../agent/state/state-file-schema.js';
import { validateStateFile } from '../../../../agent/state/state-file-validator.js';

const PATH = 'agent/state/state-file-validator.ts';

test('state-file-validator.ts is what the build generates from StateFile now (run npm run build when this fails)', () => {
  const now = generatedValidators().find((f) => f.path === PATH);
  assert.ok(now, `the generator writes ${PATH}`);
  assert.equal(readFileSync(new URL(`../../../../${PATH}`, import.meta.url), 'utf8'), now.text);
});

test('it accepts and refuses what ajv compiling StateFile at run time does, with the same first error', () => {
  const live = new Ajv({ strict: true }).compile(StateFile);
  const id = 'a'.repeat(40);
  const state = {
    version: 1, ref: 'main', ruleset: 'default', commit: id, blob: id, appliedAt: '2026-01-01T00:00:00Z', tag: 'v1',
    release: { ref: 'track:v*', tag: 'v1', tagId: id, taggerTime: 1 },
    managedTables: [{ family: 'inet', name: 't' }],
    pending: { commit: id, blob: id, ruleset: 'default', managedTables: [], startedAt: 'now' },
    interrupted: { blob: id, count: 1 },
    lastFailed: { commit: id, blob: id, code: 'NFTSYNC_ERR_NFT_APPLY', message: 'x' },
  };
  const samples: unknown[] = [
    state,
    { version: 1, ref: 'main', ruleset: 'default', managedTables: [] },
    { ...state, version: 2 },
    { ...state, commit: 'x' },
    { ...state, blob: 'b'.repeat(64) },
    { ...state, managedTables: [{ family: 'inet' }] },
    { ...state, release: { ...state.release, taggerTime: 1.5 } },
    { ...state, interrupted: { blob: id, count: -1 } },
    { ...state, pending: { ...state.pending, commit: undefined } },
    { ...state, lastFailed: { commit: id } },
    { ref: 'main', ruleset: 'default', managedTables: [] },
    [],
    'state',
  ];
  for (const [i, v] of samples.entries()) {
    assert.equal(validateStateFile(v), live(v), `sample ${i}`);
    assert.deepEqual(validateStateFile.errors ?? null, live.errors ?? null, `sample ${i}`);
  }
});
