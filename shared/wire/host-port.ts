/**
 * `HOST:PORT` addresses as the command line takes them: `127.0.0.1:7000`, `[::1]:7000`,
 * `server.example:7000`.
 */
import { NftSyncError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parse `HOST:PORT`; throws NFTSYNC_ERR_USAGE naming `what` (e.g. `--listen`) when malformed. */
export function parseHostPort(value: string, what = 'address'): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${what} must be HOST:PORT (IPv6 as [ADDR]:PORT), got ${JSON.stringify(value)}`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * Parse a comma-separated list of `HOST:PORT` (`--server A,B,C`), in order. Throws
 * NFTSYNC_ERR_USAGE naming `what` for an empty list, a malformed entry or one given twice.
 */
export function parseHostPortList(value: string, what = 'address'): HostPort[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${what} must be HOST:PORT or a comma-separated list of them, got ${JSON.stringify(value)}`);
  const list = parts.map((p) => parseHostPort(p, what));
  const seen = new Set<string>();
  for (const hp of list) {
    const key = formatHostPort(hp);
    if (seen.has(key)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${what} lists ${key} twice`);
    seen.add(key);
  }
  return list;
}

/** Format a host and port back into `HOST:PORT`, bracketing IPv6 addresses. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for loopback addresses and `localhost` (where plain TCP is allowed without opting in). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
