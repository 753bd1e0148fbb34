/**
 * The CLI's side of the HTTP API: JSON requests to `--http URL` with the token from the
 * NFT_SYNC_TOKEN environment variable (never a flag: flags show up in `ps`), and the API's
 * error body turned back into the NftSyncError it describes.
 */
import { NftSyncError } from '../shared/errors.js';
import { CLI_DEFAULTS } from './defaults.js';

/** The base URL from `--http`: `http://HOST:PORT` or bare `HOST:PORT`. Throws NFTSYNC_ERR_USAGE. */
export function apiBase(http: string): URL {
  try {
    const url = new URL(/^[a-z]+:\/\//i.test(http) ? http : `http://${http}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return url;
  } catch {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `--http ${JSON.stringify(http)} is not a URL such as http://127.0.0.1:8080`);
  }
}

/**
 * `method path` against the API; resolves with the parsed JSON body of a 2xx answer, given up
 * after `timeoutMs` (default CLI_DEFAULTS.apiTimeoutMs, 30 s).
 * Errors: the API's own error (same code), NFTSYNC_ERR_CONN_FAILED (no answer),
 * NFTSYNC_ERR_SERVER_INTERNAL (an answer that is not the API's).
 */
export async function callApi<T>(http: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeoutMs = CLI_DEFAULTS.apiTimeoutMs): Promise<T> {
  const url = new URL(path, apiBase(http));
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = process.env.NFT_SYNC_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `cannot reach ${url.origin}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NftSyncError('NFTSYNC_ERR_SERVER_INTERNAL', `${url.origin} answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown; data?: unknown } }).error;
    if (e) throw NftSyncError.fromJSON(e);
    throw new NftSyncError('NFTSYNC_ERR_SERVER_INTERNAL', `${url.origin} answered ${res.status}`);
  }
  return json as T;
}
