import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP_TIMEOUT_FLAGS, httpTimeouts } from '../../../cli/http-timeout-flags.js';
import { SERVER_DEFAULTS } from '../../../server/defaults.js';
import { expectCode } from '../../helpers/expect-code.js';

const defaults = Object.fromEntries(Object.entries(HTTP_TIMEOUT_FLAGS).map(([k, v]) => [k, v.default as string]));

test('httpTimeouts: the flags\' defaults give the server defaults; a flag in seconds overrides one limit', () => {
  assert.deepEqual(httpTimeouts(defaults), SERVER_DEFAULTS.httpTimeouts);
  assert.deepEqual(httpTimeouts({ ...defaults, 'http-idle-timeout': '0.5' }), { ...SERVER_DEFAULTS.httpTimeouts, idleMs: 500 });
});

test('httpTimeouts refuses a limit under 0.1 s or over a day with NFTSYNC_ERR_USAGE naming the flag', () => {
  for (const bad of ['0', '0.05', '86401', 'x']) {
    assert.match(expectCode(() => httpTimeouts({ ...defaults, 'http-headers-timeout': bad }), 'NFTSYNC_ERR_USAGE').message, /--http-headers-timeout/);
  }
});
