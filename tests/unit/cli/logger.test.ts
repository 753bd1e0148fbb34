/** cli/logger.ts: the process logger honours its level and carries the pid and the base fields. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger } from '../../../cli/logger.js';

/** The fields pino writes into every line (its serialised base, `,"k":v,...`). */
const lineFields = (l: ReturnType<typeof createLogger>) => JSON.parse(`{${(l as unknown as Record<symbol, string>)[pino.symbols.chindingsSym]!.slice(1)}}`) as unknown;

test('createLogger: the level given, the pid and the base fields bound to every line', () => {
  const warn = createLogger('warn', { agent: 'web-1' });
  assert.equal(warn.level, 'warn');
  assert.equal(warn.isLevelEnabled('warn'), true);
  assert.equal(warn.isLevelEnabled('info'), false);
  assert.deepEqual(lineFields(warn), { pid: process.pid, agent: 'web-1' });
  const trace = createLogger('trace');
  assert.equal(trace.isLevelEnabled('trace'), true);
  assert.deepEqual(lineFields(trace), { pid: process.pid });
  assert.throws(() => createLogger('loud'), /loud/);
});
