/** Reading the server's `--token-file` once at start-up. */
import { readFile } from 'node:fs/promises';
import { NftSyncError } from '../../shared/errors.js';
import { parseTokenList, type TokenEntry } from '../../shared/config/token-list.js';

/**
 * Read and parse the token file at `path` (format: shared/config/token-list.ts). Errors:
 * NFTSYNC_ERR_CONFIG_INVALID when it cannot be read, is malformed (naming the line, never the
 * token), or holds no token at all (a file that locks everyone out is surely a mistake).
 */
export async function loadTokenFile(path: string): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--token-file ${path} cannot be read: ${(cause as Error).message}`, { cause });
  }
  let tokens: TokenEntry[];
  try {
    tokens = parseTokenList(text);
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--token-file ${path}: ${(cause as Error).message}`, { cause });
  }
  if (tokens.length === 0) throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--token-file ${path} holds no token: add a line "TOKEN [OWNER]"`);
  return tokens;
}
