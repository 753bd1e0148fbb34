import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kind } from '@sinclair/typebox';
import { AgentState, PendingRevision, StateFile } from '../../../../agent/state/state-file-schema.js';
import { OBJECT_ID_PATTERN } from '../../../../shared/ruleset/names.js';

test('StateFile is AgentState with the format\'s version; revision ids are checked as object ids', () => {
  assert.equal(StateFile[Kind], 'Object');
  assert.deepEqual(Object.keys(StateFile.properties), ['version', ...Object.keys(AgentState.properties)]);
  assert.equal((StateFile.properties.version as { const?: unknown }).const, 1);
  assert.deepEqual(StateFile.required, ['version', 'ref', 'ruleset', 'managedTables']);
  assert.equal(PendingRevision.properties.commit.pattern, OBJECT_ID_PATTERN);
  assert.equal(AgentState.properties.commit.pattern, OBJECT_ID_PATTERN);
});
