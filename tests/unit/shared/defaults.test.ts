import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHARED_DEFAULTS, SHARED_DEFAULTS_TABLE } from '../../../shared/defaults.js';
import { CLIENT_MAX_FRAME, DEFAULT_MAX_FRAME, HELLO_MAX_FRAME } from '../../../shared/wire/messages.js';
import { RULESET_TEXT_LIMITS } from '../../../shared/ruleset/ruleset-schema.js';
import { defaultsDocDifferences } from '../../helpers/defaults-doc.js';

describe('shared/defaults.ts', () => {
  it('docs/defaults.md lists every shared default with its value, and nothing else', () => {
    assert.deepEqual(defaultsDocDifferences('shared/defaults.ts', SHARED_DEFAULTS_TABLE), []);
  });
  it('is frozen all the way down', () => {
    assert.ok(Object.isFrozen(SHARED_DEFAULTS) && Object.isFrozen(SHARED_DEFAULTS.wire) && Object.isFrozen(SHARED_DEFAULTS.nft.timeoutsMs));
    assert.throws(() => ((SHARED_DEFAULTS.wire as { clientMaxFrame: number }).clientMaxFrame = 1), TypeError);
  });
  it('is what the protocol and the ruleset reader use', () => {
    assert.equal(HELLO_MAX_FRAME, SHARED_DEFAULTS.wire.helloMaxFrame);
    assert.equal(CLIENT_MAX_FRAME, SHARED_DEFAULTS.wire.clientMaxFrame);
    assert.equal(DEFAULT_MAX_FRAME, SHARED_DEFAULTS.wire.maxAnswerFrame);
    assert.equal(RULESET_TEXT_LIMITS, SHARED_DEFAULTS.rulesetText);
  });
});
