/**
 * cli/logger.ts: the process logger honours its level, carries the pid and the base fields, and
 * writes to the stream it is given (stdout for the daemons, stderr for one-shot commands).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger } from '../../../cli/logger.js';

/** The fields pino writes into every line (its serialised base, `,"k":v,...`). */
const lineFields = (l: ReturnType<typeof createLogger>) => JSON.parse(`{${(l as unknown as Record<symbol, string>)[pino.symbols.chindingsSym]!.slice(1)}}`) as unknown;
/** The file descriptor the logger's destination writes to. */
const fdOf = (l: ReturnType<typeof createLogger>) => (l as unknown as Record<symbol, { fd: number }>)[pino.symbols.streamSym]!.fd;

test('createLogger: the level given, the pid and the base fields bound to every line', () => {
  const warn = createLogger('warn', 'stderr', { agent: 'web-1' });
  assert.equal(warn.level, 'warn');
  assert.equal(warn.isLevelEnabled('warn'), true);
  assert.equal(warn.isLevelEnabled('info'), false);
  assert.deepEqual(lineFields(warn), { pid: process.pid, agent: 'web-1' });
  const trace = createLogger('trace', 'stdout');
  assert.equal(trace.isLevelEnabled('trace'), true);
  assert.deepEqual(lineFields(trace), { pid: process.pid });
  assert.throws(() => createLogger('loud', 'stdout'), /loud/);
});

test('createLogger: writes to the stream named, stdout (fd 1) or stderr (fd 2)', () => {
  assert.equal(fdOf(createLogger('info', 'stdout')), 1);
  assert.equal(fdOf(createLogger('info', 'stderr')), 2);
});
