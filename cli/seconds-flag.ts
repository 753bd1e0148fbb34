/** Numeric command-line values: seconds and counts, checked with a clear usage error. */
import { NftSyncError } from '../shared/errors.js';

/**
 * `value` (a flag's text) as a number of seconds from `min` to `max`, decimals allowed,
 * returned in milliseconds. Errors: NFTSYNC_ERR_USAGE naming `flag`.
 */
export function secondsFlag(value: string, flag: string, min = 0, max = 86_400): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${flag} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Math.round(n * 1000);
}

/** `value` as a whole number from `min` to `max`. Errors: NFTSYNC_ERR_USAGE naming `flag`. */
export function countFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
