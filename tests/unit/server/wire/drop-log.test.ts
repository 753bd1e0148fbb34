import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from 'pino';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { DropLog } from '../../../../server/wire/drop-log.js';

/** A logger that keeps what warn() was given (the drop log writes nothing else). */
function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: { warn: (o: Record<string, unknown>) => void lines.push(o) } as unknown as Logger, lines };
}

test('DropLog: one line per interval with counts per reason, the busiest addresses and the last detail (mock timers)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { logger, lines } = capture();
  const log = new DropLog(logger, 1000);
  log.note('perAddressCap', '198.18.0.1', 'NFTSYNC_ERR_SERVER_BUSY');
  log.note('perAddressCap', '198.18.0.1');
  log.note('noHello', '198.18.0.2');
  t.mock.timers.tick(999);
  assert.equal(lines.length, 0);
  t.mock.timers.tick(1);
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]!.dropped, { perAddressCap: 2, noHello: 1 });
  assert.equal(lines[0]!.count, 3);
  assert.deepEqual(lines[0]!.top, [{ address: '198.18.0.1', n: 2 }, { address: '198.18.0.2', n: 1 }]);
  assert.deepEqual(lines[0]!.detail, { perAddressCap: 'NFTSYNC_ERR_SERVER_BUSY' });
  t.mock.timers.tick(10_000);
  assert.equal(lines.length, 1, 'nothing counted, nothing written');
  assert.equal(log.total, 3);
});

test('DropLog: past dropLogMaxAddresses distinct addresses, the rest are counted as "others"', () => {
  const { logger, lines } = capture();
  const log = new DropLog(logger, 1000);
  const max = SERVER_DEFAULTS.wire.dropLogMaxAddresses;
  for (let i = 0; i < max + 10; i++) log.note('globalCap', `addr-${i}`);
  log.flush();
  assert.equal(lines[0]!.addresses, max + 1);
  assert.equal(lines[0]!.count, max + 10);
});
