/**
 * What every route's schema shares: who may call it (the OpenAPI security requirement), and the
 * error answers beside its own (the one error shape of shared/http/http-api.ts, ApiError). The
 * security schemes themselves are SECURITY_SCHEMES, which the OpenAPI document declares.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ApiError } from '../../../shared/http/http-api.js';

/**
 * The OpenAPI security schemes. There is one token list (the server's --token-file); a token
 * authorises writes, and reads too when the server runs with --read-token-required. git clients
 * send it as basic auth's password. The HTTP listener itself speaks plain HTTP (mutual TLS is the
 * wire protocol's), so there is no mutualTLS scheme.
 */
export const SECURITY_SCHEMES = {
  writeToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      "a token of the server's --token-file: every write needs one. Without a --token-file, writes are allowed only on a loopback listener with a loopback Host header (owner `local`), else 403 NFTSYNC_ERR_API_WRITES_DISABLED",
  },
  readToken: {
    type: 'http',
    scheme: 'bearer',
    description: "a token of the server's --token-file, needed for reads only when the server runs with --read-token-required (else reads are open)",
  },
  basicToken: {
    type: 'http',
    scheme: 'basic',
    description:
      "the API's alternative to a bearer token: a token of the server's --token-file as basic auth's password (any user name), accepted wherever writeToken or readToken is",
  },
  gitToken: {
    type: 'http',
    scheme: 'basic',
    description: "git over HTTP: a token of the server's --token-file as the password (any user name); `Authorization: Bearer TOKEN` is accepted too. Pushes need one; clones and fetches only with --read-token-required",
  },
} as const;

/** Who may call a route: anyone, a reader (a token only with --read-token-required), a writer. */
export type Access = 'public' | 'read' | 'write';

type SecurityRequirement = ReadonlyArray<Record<string, readonly string[]>>;

/**
 * The OpenAPI security requirement of `access` (`{}`: no credentials needed). A token is accepted
 * as a bearer token or as basic auth's password (server/auth/access-policy.ts), so each
 * requirement that needs one lists both.
 */
export function securityOf(access: Access): SecurityRequirement {
  if (access === 'public') return [];
  if (access === 'write') return [{ writeToken: [] }, { basicToken: [] }];
  return [{}, { readToken: [] }, { basicToken: [] }];
}

/**
 * An error answer with its own description (and the headers it carries): a reference to ApiError,
 * which the app registers once (`addSchema`) and the document lists once, in its components.
 */
export function errorAnswer(description: string, headers?: Record<string, { type: 'string'; description: string }>): TSchema {
  return { ...Type.Ref(ApiError), description, ...(headers ? { headers } : {}) };
}

const UNAUTHORISED = errorAnswer('NFTSYNC_ERR_AUTH_REQUIRED: no token, or one not in the --token-file', {
  'www-authenticate': { type: 'string', description: 'Bearer realm="nft-sync"' },
});
const FORBIDDEN = errorAnswer('NFTSYNC_ERR_API_WRITES_DISABLED: no --token-file, and the listener or the Host header is not loopback');
const CLIENT_ERROR = errorAnswer('any other refusal (bad parameter or body: NFTSYNC_ERR_API_INVALID_REQUEST naming it; unknown ref, ruleset or agent; time limit)');
const SERVER_ERROR = errorAnswer('a failure of the server or of git');

/**
 * A route's `response` schemas: `answers` (its success answers by status) and the error shape
 * for every failure: 401 for routes that may need a token, 403 for writes, any other 4xx and 5xx.
 */
export function responses<T extends Record<number, unknown>>(access: Access, answers: T): T & Record<string, unknown> {
  return {
    ...answers,
    ...(access === 'public' ? {} : { 401: UNAUTHORISED }),
    ...(access === 'write' ? { 403: FORBIDDEN } : {}),
    '4xx': CLIENT_ERROR,
    '5xx': SERVER_ERROR,
  };
}
