import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { responses, SECURITY_SCHEMES, securityOf } from '../../../../../server/http/routes/route-schema.js';

describe('route schemas: who may call a route, and its error answers', () => {
  it('public routes need nothing, reads a token only when the server asks (the empty requirement), writes the write token', () => {
    assert.deepEqual(securityOf('public'), []);
    assert.deepEqual(securityOf('read'), [{}, { readToken: [] }, { basicToken: [] }]);
    assert.deepEqual(securityOf('write'), [{ writeToken: [] }, { basicToken: [] }]);
    for (const access of ['public', 'read', 'write'] as const) {
      for (const requirement of securityOf(access)) for (const name of Object.keys(requirement)) assert.ok(name in SECURITY_SCHEMES, name);
    }
  });

  it('every route answers errors in the one shape; 401 where a token may be needed, 403 for writes', () => {
    const ok = { 200: { type: 'object' } };
    assert.deepEqual(Object.keys(responses('public', ok)).sort(), ['200', '4xx', '5xx']);
    assert.deepEqual(Object.keys(responses('read', ok)).sort(), ['200', '401', '4xx', '5xx']);
    assert.deepEqual(Object.keys(responses('write', { 201: {} })).sort(), ['201', '401', '403', '4xx', '5xx']);
    const unauthorised = responses('read', ok)[401] as { $ref: string; headers: Record<string, unknown> };
    assert.equal(unauthorised.$ref, 'ApiError');
    assert.ok(unauthorised.headers['www-authenticate']);
  });
});
