/**
 * The server's `--token-file`: who may write (push, rollback, API changes).
 *
 * Format: one token per line, optionally followed by whitespace and the owner's name (used in
 * commit messages and logs, never the token itself). Blank lines and lines starting with `#` are
 * ignored. Tokens are at least 16 characters of `[A-Za-z0-9._~+/=-]`.
 *
 *     # CI pipeline
 *     3c9f0a7e61b24d5f9e8a  ci-bot
 *     a1b2c3d4e5f6a7b8c9d0  alice@example.org
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { NftSyncError } from '../errors.js';

export interface TokenEntry {
  /** SHA-256 of the token: what is kept in memory and compared. */
  digest: Buffer;
  owner: string;
}

const TOKEN = /^[A-Za-z0-9._~+/=-]{16,512}$/;
const OWNER = /^[\x21-\x7e]{1,128}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Parse a token file's text. Throws NFTSYNC_ERR_CONFIG_INVALID naming the line of a malformed
 * entry (without echoing the token).
 */
export function parseTokenList(text: string): TokenEntry[] {
  return tokenLines(text).map(({ token, owner }) => ({ digest: digest(token), owner }));
}

/**
 * The first token of a token file's text (what a client sends). Throws
 * NFTSYNC_ERR_CONFIG_INVALID as parseTokenList does, and when the file holds no token.
 */
export function firstToken(text: string): string {
  const first = tokenLines(text)[0];
  if (first === undefined) throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', 'the token file holds no token: add a line "TOKEN [OWNER]"');
  return first.token;
}

function tokenLines(text: string): Array<{ token: string; owner: string }> {
  const out: Array<{ token: string; owner: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [token, owner, ...rest] = line.split(/\s+/);
    if (!token || !TOKEN.test(token) || rest.length > 0 || (owner !== undefined && !OWNER.test(owner))) {
      throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `token file line ${i + 1}: expected "TOKEN [OWNER]" with a token of at least 16 characters [A-Za-z0-9._~+/=-]`);
    }
    out.push({ token, owner: owner ?? `token-${i + 1}` });
  });
  return out;
}

/**
 * The owner of `token` if it is one of `entries`, else undefined. Compares digests in constant
 * time, so the answer's timing says nothing about how much of a token was right.
 */
export function tokenOwner(entries: readonly TokenEntry[], token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  const d = digest(token);
  let found: string | undefined;
  for (const e of entries) if (timingSafeEqual(e.digest, d)) found = e.owner;
  return found;
}
