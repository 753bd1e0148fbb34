import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOST_DEFAULTS, HOST_DEFAULTS_RULES, HOST_DEFAULTS_TABLE } from '../../../host/defaults.js';
import { READ_ATTEMPTS } from '../../../host/scratch-read-back.js';
import { checkDefaults } from '../../../shared/check-defaults.js';
import { defaultsDocDifferences } from '../../helpers/defaults-doc.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('host/defaults.ts', () => {
  it('docs/defaults.md lists every host default with its value, and nothing else', () => {
    assert.deepEqual(defaultsDocDifferences('host/defaults.ts', HOST_DEFAULTS_TABLE), []);
  });
  it('is frozen all the way down, and is what the scratch read-back uses', () => {
    assert.ok(Object.isFrozen(HOST_DEFAULTS.scratch.readPausesMs));
    assert.throws(() => ((HOST_DEFAULTS as { gitMaxBuffer: number }).gitMaxBuffer = 1), TypeError);
    assert.equal(READ_ATTEMPTS, HOST_DEFAULTS.scratch.readAttempts);
  });
  it('a pause list that does not match the listings stops the program at start', () => {
    const bad = { ...HOST_DEFAULTS_TABLE, scratch: { ...HOST_DEFAULTS_TABLE.scratch, readPausesMs: [100] } };
    assert.match(expectCode(() => checkDefaults('host', bad, HOST_DEFAULTS_RULES), 'NFTSYNC_ERR_CONFIG_INVALID').message, /readPausesMs/);
  });
});
