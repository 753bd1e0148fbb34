/**
 * The token a client (agent, pull, fetch, a replica's mirror) sends to the server, and the flag
 * that names its file. Kept apart from agent-flags.ts so the server command does not load the
 * agent's modules to read its --mirror-token-file.
 */
import { readFileSync } from 'node:fs';
import { NftSyncError } from '../shared/errors.js';
import { firstToken } from '../shared/config/token-list.js';
import type { Flags, ParsedFlags } from './parse-command-line.js';
import { str } from './command.js';

/** `--token-file`, for agent, pull and fetch. */
export const TOKEN_FLAG: Flags = {
  'token-file': {
    type: 'string',
    description: 'file whose first token is sent in hello, for a server run with --read-token-required (same format as the server\'s --token-file; default: the NFT_SYNC_TOKEN environment variable)',
  },
};

/**
 * The token a client sends in hello: the first one in --token-file, else NFT_SYNC_TOKEN, else
 * none. Never a flag value itself (flags show up in `ps`). Errors: NFTSYNC_ERR_CONFIG_INVALID
 * (file unreadable, malformed or empty; the message never echoes a token).
 */
export function clientToken(values: ParsedFlags): string | undefined {
  const file = str(values, 'token-file');
  if (file === undefined) return process.env.NFT_SYNC_TOKEN || undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--token-file ${file} cannot be read: ${(cause as Error).message}`, { cause });
  }
  try {
    return firstToken(text);
  } catch (cause) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--token-file ${file}: ${(cause as Error).message}`, { cause });
  }
}
