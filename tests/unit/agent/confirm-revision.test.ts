import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confirmRevision } from '../../../agent/confirm-revision.js';
import { AGENT_DEFAULTS } from '../../../agent/defaults.js';
import { buildStatus } from '../../../agent/status-report.js';
import { NftSyncError } from '../../../shared/errors.js';
import { FrameDeadline } from '../../../server/wire/frame-deadline.js';

test('confirmRevision: retries failed probes within the window, then confirms', async () => {
  let calls = 0;
  const r = await confirmRevision(async () => {
    if (++calls < 3) throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'refused');
  }, 5000);
  assert.equal(r.confirmed, true);
  assert.equal(calls, 3);
});

test('confirmRevision: gives up at the window with the last reason, probing no faster than the pause; a hanging probe is cut off', async () => {
  let calls = 0;
  const windowMs = 400;
  const r = await confirmRevision(async () => {
    calls++;
    throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'no route');
  }, windowMs);
  assert.equal(r.confirmed, false);
  assert.match(r.confirmed ? '' : r.reason, new RegExp(`^${calls} probe\\(s\\) failed; last: no route`));
  assert.ok(r.ms >= windowMs, `the whole window was used (${r.ms} ms)`);
  // A slow machine makes fewer probes, never more: one at the start and one after each pause.
  assert.ok(calls >= 1 && calls <= Math.ceil(windowMs / AGENT_DEFAULTS.confirm.probePauseMs) + 1, `${calls} probes in a ${windowMs} ms window`);
  const hang = await confirmRevision(() => new Promise(() => {}), 300);
  assert.equal(hang.confirmed, false);
  assert.match(hang.confirmed ? '' : hang.reason, /did not finish/);
});

test('confirmRevision: an abort ends the window at once, unconfirmed', async () => {
  const ac = new AbortController();
  const result = confirmRevision(() => new Promise(() => {}), 60_000, ac.signal);
  ac.abort('SIGINT');
  const r = await result;
  assert.equal(r.confirmed, false);
  assert.match(r.confirmed ? '' : r.reason, /interrupted \(SIGINT\)/);
});

test('status: RolledBack is Failed, Drifted is Degraded', () => {
  const inForce = { ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), appliedAt: 'x' };
  const rb = buildStatus({ agent: 'a', ref: 'main', inForce, error: { code: 'NFTSYNC_ERR_CONFIRM_FAILED', message: 'cut off' } });
  assert.equal(rb.state, 'Failed');
  assert.equal(rb.conditions[0]!.reason, 'RolledBack');
  const dr = buildStatus({ agent: 'a', ref: 'main', inForce, error: { code: 'NFTSYNC_ERR_DRIFTED', message: 'rule added' } });
  assert.equal(dr.state, 'Degraded');
  assert.equal(dr.conditions[0]!.reason, 'Drifted');
});
