import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuTimes, parseCpuTimes, stolenShare } from '../../../bench/cpu-steal.js';

test('the cpu line of /proc/stat: all its time and the stolen part; the share stolen between two readings', () => {
  const a = parseCpuTimes('cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 18 0 0\nintr 1\n')!;
  assert.deepEqual(a, { total: 1000, steal: 35 });
  const b = parseCpuTimes('cpu  200 0 100 1500 10 0 5 235 0 0\n')!;
  assert.equal(stolenShare(a, b), 200 / 1050);
  assert.equal(parseCpuTimes('cpu0 1 2 3\n'), undefined, 'no machine-wide line');
  assert.equal(parseCpuTimes('cpu  1 2 3\n'), undefined, 'too short');
  assert.equal(stolenShare(a, a), undefined, 'no time passed');
  assert.equal(stolenShare(undefined, b), undefined);
  const now = cpuTimes();
  if (now !== undefined) assert.ok(now.total > 0 && now.steal >= 0 && now.steal <= now.total);
});
