/**
 * What a `hello` must carry before the server answers `welcome`: a protocol version in common;
 * under TLS an agent name the client certificate carries; over plain TCP, when the server
 * requires tokens for reads (--read-token-required), a token from its --token-file. Under mutual
 * TLS the certificate is the credential and no token is asked for.
 */
import type { Socket } from 'node:net';
import { NftSyncError } from '../../shared/errors.js';
import { PROTOCOL_VERSIONS, type HelloMessage } from '../../shared/wire/messages.js';
import { tokenOwner, type TokenEntry } from '../../shared/config/token-list.js';
import { checkPeerIdentity, isTlsSocket } from '../auth/peer-identity.js';

export interface HelloAccepted {
  /** The protocol version chosen: the highest both sides speak. */
  version: number;
  /** Owner of the token given, when one was required (for logs; never the token itself). */
  tokenOwner?: string;
}

/**
 * Check `msg` on `socket`. `tokens`: the tokens a plain-TCP hello must carry one of (undefined:
 * none needed). Throws, for the session to send as a fatal frame: NFTSYNC_ERR_PROTO_VERSION (no
 * version in common), NFTSYNC_ERR_TLS_IDENTITY (see checkPeerIdentity), NFTSYNC_ERR_AUTH_REQUIRED
 * (token missing or not in the list; the message never repeats what was sent).
 */
export function checkHello(msg: HelloMessage, socket: Socket, tokens: readonly TokenEntry[] | undefined): HelloAccepted {
  const version = PROTOCOL_VERSIONS.filter((v) => msg.versions.includes(v)).at(-1);
  if (version === undefined) {
    throw new NftSyncError('NFTSYNC_ERR_PROTO_VERSION', `server speaks protocol versions ${PROTOCOL_VERSIONS.join(', ')}; agent offered ${msg.versions.join(', ')}`);
  }
  if (isTlsSocket(socket)) {
    const denied = checkPeerIdentity(socket, msg.agent);
    if (denied) throw denied;
    return { version };
  }
  if (tokens === undefined) return { version };
  if (msg.token === undefined) {
    throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', 'this server requires a token from its --token-file on the wire protocol (--read-token-required): give it to the agent with NFT_SYNC_TOKEN or --token-file, or use mutual TLS');
  }
  const owner = tokenOwner(tokens, msg.token);
  if (owner === undefined) throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', 'token not accepted: it is not in the server\'s --token-file');
  return { version, tokenOwner: owner };
}
