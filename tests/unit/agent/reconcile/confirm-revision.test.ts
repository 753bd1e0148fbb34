import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confirmRevision } from '../../../../agent/reconcile/confirm-revision.js';
import { buildStatus } from '../../../../agent/reconcile/status-report.js';
import { secondsFlag, countFlag } from '../../../../cli/seconds-flag.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { FrameDeadline } from '../../../../server/wire/frame-deadline.js';
import { AGENT_DEFAULTS } from '../../../../agent/defaults.js';

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

test('confirmRevision (fake clock whose timers fire early): a pause the window cuts short ends it; no probe starts in its last instants', async () => {
  // Node's timers count whole milliseconds of libuv's clock, so a sleep may end up to a
  // millisecond before performance.now() says it should. Before this was handled the loop then
  // probed again with a fraction of a millisecond left: "4 probes in a 400 ms window" failed CI.
  let t = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += Math.max(ms - 0.5, ms / 2)) };
  const windowMs = 400;
  const starts: number[] = [];
  const r = await confirmRevision(
    async () => {
      // (a fifth probe "succeeds", only so that a loop that never ends fails this test instead)
      if (starts.push(t) > 4) return;
      throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'no route');
    },
    windowMs,
    undefined,
    clock,
  );
  assert.equal(r.confirmed, false);
  assert.deepEqual(starts, [0, AGENT_DEFAULTS.confirm.probePauseMs - 0.5], 'one probe at the start, one after the pause');
  assert.match(r.confirmed ? '' : r.reason, /^2 probe\(s\) failed/);
  assert.ok(r.ms >= windowMs, `an unconfirmed answer comes at the window's end, not before (${r.ms} ms)`);
  // An exact clock, and a pause that ends just before the window does (review): no probe with 1 ms left.
  const exact = { t: 0, now: () => exact.t, sleep: async (ms: number) => void (exact.t += ms) };
  const left: number[] = [];
  await confirmRevision(
    async (ms) => {
      left.push(ms);
      exact.t += 0.5;
      throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'refused');
    },
    502,
    undefined,
    exact,
  );
  assert.ok(Math.min(...left) >= 50, `each probe had 50 ms or more of the window (${left.join(', ')})`);
  // A short window (--confirm-window 0.3) still gets its second probe: a tenth of it is enough (review).
  exact.t = 0;
  const short = await confirmRevision(
    async () => {
      exact.t += 2;
      if (exact.t < 100) throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', 'refused');
    },
    300,
    undefined,
    exact,
  );
  assert.equal(short.confirmed, true);
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

test('seconds and count flags', () => {
  assert.equal(secondsFlag('30', '--confirm-window'), 30_000);
  assert.equal(secondsFlag('0.5', '--confirm-window'), 500);
  assert.equal(secondsFlag('0', '--confirm-window'), 0);
  for (const bad of ['', '-1', 'x', '1e9', 'NaN']) assert.throws(() => secondsFlag(bad, '--confirm-window'), { code: 'NFTSYNC_ERR_USAGE' });
  assert.equal(countFlag('64', '--n', 1, 100), 64);
  for (const bad of ['0', '1.5', 'x', '101']) assert.throws(() => countFlag(bad, '--n', 1, 100), { code: 'NFTSYNC_ERR_USAGE' });
});

test('FrameDeadline: the handshake deadline is absolute; the frame deadline runs only while a frame is unfinished', async () => {
  const fired: string[] = [];
  const d = new FrameDeadline(150, 100, (why) => fired.push(why));
  d.update(3);
  d.update(0); // frame completed: no frame deadline
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(fired.length, 1);
  assert.match(fired[0]!, /hello/);
  const e = new FrameDeadline(1000, 100, (why) => fired.push(why));
  e.handshakeDone();
  e.update(2);
  e.update(5); // still the same frame: the deadline is not pushed back
  await new Promise((r) => setTimeout(r, 150));
  assert.match(fired[1]!, /frame took longer/);
  e.clear();
});
