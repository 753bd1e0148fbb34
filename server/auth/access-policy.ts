/**
 * Who may read and who may write over HTTP: the one rule for the API (server/http/http-app.ts)
 * and for git over HTTP (server/git/git-http.ts). Pure: it sees the request's `Host` and
 * `Authorization` headers and the server's settings, and decides.
 *
 *   token list (--token-file)  writes need a token from it; reads need one only with
 *                              readTokenRequired (--read-token-required)
 *   no token list              reads are open; writes only with anonymousWrites (set when the
 *                              HTTP listener is on loopback, where only local users reach it) AND
 *                              a Host header that names loopback: a web page in a local browser
 *                              reaching 127.0.0.1 through DNS rebinding sends its own name
 *
 * A token is taken from `Authorization: Bearer TOKEN`, or from basic auth's password (any user
 * name), which is how git clients send credentials.
 */
import { NftSyncError } from '../../shared/errors.js';
import { tokenOwner, type TokenEntry } from '../../shared/config/token-list.js';
import { isLoopbackHostHeader } from './loopback-host.js';

export interface AccessPolicy {
  /** Tokens allowed to write (and read, with readTokenRequired); undefined: no token list. */
  tokens?: readonly TokenEntry[];
  /** Without `tokens`: writes allowed from loopback Host headers. Default false. */
  anonymousWrites?: boolean;
  /** With `tokens`: reads need a token too. Default false. */
  readTokenRequired?: boolean;
}

export interface AccessAttempt {
  write: boolean;
  /** The request's Host header. */
  host: string | undefined;
  /** The request's Authorization header. */
  authorization: string | undefined;
  /** Who asks, for the error messages' advice: the API's clients or git. */
  via: 'api' | 'git';
}

/** The user an anonymous read acts as. */
export const ANONYMOUS = 'anonymous';

/** The user an anonymous write acts as: a local user (loopback listener and Host header). */
export const LOCAL = 'local';

/** The token in an Authorization header: a bearer token, or basic auth's password. */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  if (m[1]!.toLowerCase() === 'bearer') return m[2];
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

const HOW: Record<AccessAttempt['via'], { write: string; give: string }> = {
  api: { write: 'writing through the API', give: 'send Authorization: Bearer TOKEN (set NFT_SYNC_TOKEN for the CLI)' },
  git: { write: 'pushing over HTTP', give: 'give it as the password (any user name), e.g. through a git credential helper' },
};

/**
 * Decide one request. Returns the user it acts as: the token's owner when a token was needed
 * and given, LOCAL for an anonymous write, else ANONYMOUS. Errors: NFTSYNC_ERR_API_WRITES_DISABLED (403: a write with no token
 * list, from a listener not on loopback or with a Host header that does not name loopback),
 * NFTSYNC_ERR_AUTH_REQUIRED (401: a token needed and missing or not in the list; `data.given`
 * says whether an Authorization header came).
 */
export function authorise(policy: AccessPolicy, attempt: AccessAttempt): string {
  const how = HOW[attempt.via];
  const what = attempt.write ? how.write : 'reading';
  if (policy.tokens === undefined) {
    if (!attempt.write) return ANONYMOUS;
    if (policy.anonymousWrites !== true) {
      throw new NftSyncError('NFTSYNC_ERR_API_WRITES_DISABLED', `${what} is disabled: this server has no --token-file and its HTTP listener is not on loopback`);
    }
    if (!isLoopbackHostHeader(attempt.host)) {
      throw new NftSyncError('NFTSYNC_ERR_API_WRITES_DISABLED', `${what} without a token is for local clients: this request's Host header does not name loopback (a web page reaching the server through DNS rebinding looks like this)`);
    }
    return LOCAL;
  }
  if (!attempt.write && policy.readTokenRequired !== true) return ANONYMOUS;
  const given = attempt.authorization !== undefined;
  const token = tokenFromAuthorization(attempt.authorization);
  if (token === undefined) {
    const why = attempt.write ? `${what} needs a token` : 'this server needs a token for reads too (--read-token-required)';
    throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', `${why}: ${how.give}`, { data: { given } });
  }
  const owner = tokenOwner(policy.tokens, token);
  if (owner === undefined) throw new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', `token not accepted: it is not in the server's --token-file (${what})`, { data: { given } });
  return owner;
}
