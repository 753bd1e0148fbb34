import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { ERRORS, NftSyncError } from '../../../../shared/errors.js';
import { AgentRecord, ApiError, RollbackAnswer, RollbackResult, RulesetOrFile } from '../../../../shared/http/http-api.js';

const ajv = new Ajv({ strict: true });

describe('HTTP API bodies (TypeBox)', () => {
  it('ApiError is what NftSyncError.toJSON gives, for every code of the catalogue and no other', () => {
    const check = ajv.compile(ApiError);
    for (const code of Object.keys(ERRORS) as Array<keyof typeof ERRORS>) {
      const body = { error: new NftSyncError(code, 'x', { data: { a: 1 } }).toJSON() };
      assert.ok(check(body), `${code}: ${JSON.stringify(check.errors)}`);
    }
    assert.equal(check({ error: { code: 'NFTSYNC_ERR_NOT_IN_THE_CATALOGUE', message: 'x', retryable: false } }), false);
  });

  it('the rollback answer is the rollback result plus its owner; a ruleset answer is parsed or the file itself', () => {
    assert.deepEqual(Object.keys(RollbackAnswer.properties), [...Object.keys(RollbackResult.properties), 'owner']);
    const check = ajv.compile(RulesetOrFile);
    assert.ok(check({ nftables: [{ table: { family: 'inet', name: 'f' } }] }));
    assert.ok(check({ name: 'default', ref: 'main', commit: 'c', blob: 'b', ruleset: { nftables: [] } }));
    assert.equal(check({ nftables: [{ tabel: {} }] }), false);
  });

  it('an agent record without a report has no status; with one, the report is the wire schema', () => {
    const check = ajv.compile(AgentRecord);
    assert.ok(check({ name: 'web-1', address: '127.0.0.1', connected: true, lastSeen: '2026-01-01T00:00:00.000Z' }));
    assert.equal(check({ name: 'web-1', address: '127.0.0.1', connected: true, lastSeen: 'x', status: { agent: 'web-1', ref: 'main', state: 'Bogus', conditions: [] } }), false);
  });
});
