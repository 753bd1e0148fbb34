/**
 * The process logger: structured JSON lines (pino), one event a line. Fields: agent, revision,
 * connection; never credentials.
 *
 * Where the lines go is the command's kind, chosen by each command (see the README, "Logging"):
 * - the daemons (`server`, `agent`, in every mode: `--mirror-of`, `--publish`) log to stdout,
 *   the stream systemd hands to the journal; their stderr keeps only the one line of an error
 *   they stop on (`nft-sync: CODE: ...` from cli/main.ts: a bad flag, a port in use).
 * - one-shot commands (`pull`) log to stderr, so stdout carries only their result for scripts.
 */
import { pino, type Logger } from 'pino';

/** The stream a command's log lines go to: `stdout` for the daemons, `stderr` for one-shot commands. */
export type LogStream = 'stdout' | 'stderr';

/**
 * A logger at `level` writing to `stream` (pino's destination: written at once, flushed when the
 * process exits), with `pid` and `base` bound to every line. Throws pino's error on an unknown level.
 */
export function createLogger(level: string, stream: LogStream, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(stream === 'stdout' ? 1 : 2));
}
