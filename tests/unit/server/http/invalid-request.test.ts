/** invalidRequest: ajv violations become one message naming the parameter or field at fault. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidRequest } from '../../../../server/http/invalid-request.js';

test('names query parameters by name and body fields by JSON pointer, in the message and in data', () => {
  const cases: Array<[string, Parameters<typeof invalidRequest>[1], string, Record<string, unknown>]> = [
    ['querystring', [{ instancePath: '/limit', keyword: 'maximum', message: 'must be <= 1000' }], 'query limit: must be <= 1000', { parameter: 'limit' }],
    ['querystring', [{ instancePath: '', keyword: 'required', params: { missingProperty: 'to' }, message: "must have required property 'to'" }], 'query to: is required', { parameter: 'to' }],
    ['querystring', [{ instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'x' } }], 'query x: is not a known parameter', { parameter: 'x' }],
    ['params', [{ instancePath: '/name', keyword: 'pattern', message: 'must match pattern "^a$"' }], 'path parameter name: must match pattern "^a$"', { parameter: 'name' }],
    ['body', [{ instancePath: '/add/3', keyword: 'type', message: 'must be string' }], 'body /add/3: must be string', { field: '/add/3' }],
    ['body', [{ instancePath: '', keyword: 'required', params: { missingProperty: 'a/b' } }], 'body /a~1b: is required', { field: '/a~1b' }],
    ['body', [{ instancePath: '', keyword: 'type', message: 'must be object' }], 'body: must be object', { field: '/' }],
  ];
  for (const [context, violations, message, data] of cases) {
    const e = invalidRequest(context, violations);
    assert.equal(e.code, 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assert.ok(e.message.startsWith(`${message} (`), e.message);
    const d = e.data as Record<string, unknown>;
    assert.equal(d.in, context);
    for (const [k, v] of Object.entries(data)) assert.equal(d[k], v, `${message}: data.${k}`);
  }
});
