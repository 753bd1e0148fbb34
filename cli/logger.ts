/**
 * The process logger: structured JSON lines (pino) on stderr, so stdout stays for results
 * (`fetch` prints a ruleset there). Fields: agent, revision, connection; never credentials.
 */
import { pino, type Logger } from 'pino';

/** A logger at `level` writing to stderr. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}
