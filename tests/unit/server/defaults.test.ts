import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDefaults } from '../../../shared/check-defaults.js';
import { SERVER_DEFAULTS, SERVER_DEFAULTS_RULES, SERVER_DEFAULTS_TABLE } from '../../../server/defaults.js';
import { HTTP_TIMEOUT_DEFAULTS } from '../../../server/http/http-timeouts.js';
import { WIRE_SERVER_DEFAULTS } from '../../../server/wire/wire-server.js';
import { defaultsDocDifferences } from '../../helpers/defaults-doc.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('server/defaults.ts', () => {
  it('docs/defaults.md lists every server default with its value, and nothing else', () => {
    assert.deepEqual(defaultsDocDifferences('server/defaults.ts', SERVER_DEFAULTS_TABLE), []);
  });
  it('is frozen all the way down', () => {
    assert.ok(Object.isFrozen(SERVER_DEFAULTS.pushChecks) && Object.isFrozen(SERVER_DEFAULTS.wire));
    assert.throws(() => ((SERVER_DEFAULTS.httpTimeouts as { idleMs: number }).idleMs = 1), TypeError);
  });
  it('is what the wire and HTTP listeners use', () => {
    assert.equal(WIRE_SERVER_DEFAULTS.limits.handshakeTimeoutMs, SERVER_DEFAULTS.wire.handshakeTimeoutMs);
    assert.equal(WIRE_SERVER_DEFAULTS.maxConnections, SERVER_DEFAULTS.wire.maxConnections);
    assert.equal(HTTP_TIMEOUT_DEFAULTS, SERVER_DEFAULTS.httpTimeouts);
  });
  it('a heartbeat not shorter than the frame deadline stops the server at start', () => {
    const bad = { ...SERVER_DEFAULTS_TABLE, wire: { ...SERVER_DEFAULTS_TABLE.wire, heartbeatMs: SERVER_DEFAULTS_TABLE.wire.frameTimeoutMs } };
    const err = expectCode(() => checkDefaults('server', bad, SERVER_DEFAULTS_RULES), 'NFTSYNC_ERR_CONFIG_INVALID');
    assert.match(err.message, /wire\.heartbeatMs < wire\.frameTimeoutMs/);
    const hook = { ...SERVER_DEFAULTS_TABLE, pushChecks: { ...SERVER_DEFAULTS_TABLE.pushChecks, heartbeatMs: 60_000 } };
    expectCode(() => checkDefaults('server', hook, SERVER_DEFAULTS_RULES), 'NFTSYNC_ERR_CONFIG_INVALID');
  });
});
