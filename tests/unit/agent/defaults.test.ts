import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_DEFAULTS, AGENT_DEFAULTS_RULES, AGENT_DEFAULTS_TABLE } from '../../../agent/defaults.js';
import { BACKOFF_DEFAULTS } from '../../../agent/backoff.js';
import { DEFAULT_CONFIRM_WINDOW_S } from '../../../agent/reconcile/confirm-revision.js';
import { checkDefaults } from '../../../shared/check-defaults.js';
import { defaultsDocDifferences } from '../../helpers/defaults-doc.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('agent/defaults.ts', () => {
  it('docs/defaults.md lists every agent default with its value, and nothing else', () => {
    assert.deepEqual(defaultsDocDifferences('agent/defaults.ts', AGENT_DEFAULTS_TABLE), []);
  });
  it('is frozen all the way down', () => {
    assert.ok(Object.isFrozen(AGENT_DEFAULTS) && Object.isFrozen(AGENT_DEFAULTS.drift));
    assert.throws(() => ((AGENT_DEFAULTS.backoff as { capMs: number }).capMs = 1), TypeError);
  });
  it('is what backoff and the confirm window use', () => {
    assert.equal(BACKOFF_DEFAULTS, AGENT_DEFAULTS.backoff);
    assert.equal(DEFAULT_CONFIRM_WINDOW_S, AGENT_DEFAULTS.confirm.windowS);
  });
  it('a backoff base above its cap, or an own-PID memory shorter than an nft run, stops the agent at start', () => {
    const base = { ...AGENT_DEFAULTS_TABLE, backoff: { baseMs: 60_000, capMs: 1000, dropSpreadMs: 1000, failoverSpreadMs: 1000 } };
    assert.match(expectCode(() => checkDefaults('agent', base, AGENT_DEFAULTS_RULES), 'NFTSYNC_ERR_CONFIG_INVALID').message, /backoff\.baseMs <= backoff\.capMs/);
    const pid = { ...AGENT_DEFAULTS_TABLE, drift: { ...AGENT_DEFAULTS_TABLE.drift, ownPidMs: 1000 } };
    assert.match(expectCode(() => checkDefaults('agent', pid, AGENT_DEFAULTS_RULES), 'NFTSYNC_ERR_CONFIG_INVALID').message, /ownPidMs/);
  });
});
