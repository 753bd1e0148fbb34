/**
 * The one catalogue of nft-sync error codes.
 *
 * Every failure that crosses a boundary (a wire error frame, an HTTP error body, a CLI exit line,
 * a status condition) carries one of these codes. Codes are stable: never rename or reuse one;
 * add new ones. `docs/errors.md` lists every code and a unit test keeps the two in step.
 *
 * `retryable` tells the caller how to handle it: true means "try again later, it may pass by
 * itself" (a server down, a timeout), false means "a person must act" (a bad ruleset, a bad flag).
 */
export interface ErrorSpec {
  /** One-line summary of what went wrong, used when no detail message is given. */
  readonly summary: string;
  /** True when trying again later may succeed without anyone changing anything. */
  readonly retryable: boolean;
  /** HTTP status used by the API for this code. */
  readonly status: number;
}

function spec(summary: string, retryable: boolean, status: number): ErrorSpec {
  return { summary, retryable, status };
}

export const ERRORS = {
  // command line and configuration
  NFTSYNC_ERR_USAGE: spec('invalid command-line usage', false, 400),
  NFTSYNC_ERR_CONFIG_INVALID: spec('invalid configuration', false, 400),
  NFTSYNC_ERR_LISTEN_INSECURE: spec('refusing plain TCP on a non-loopback address', false, 400),

  // git over HTTP, push validation, import (add new codes of that area below this line)
  NFTSYNC_ERR_AUTH_REQUIRED: spec('this operation needs a valid token', false, 401),
  NFTSYNC_ERR_PUSH_REFUSED: spec('push refused: a ruleset or nft-sync.yaml failed validation', false, 422),
  NFTSYNC_ERR_RULESET_LOSSY: spec('nft loads the ruleset differently from what it declares', false, 422),
  NFTSYNC_ERR_NETNS_UNAVAILABLE: spec('cannot create a scratch network namespace', false, 500),

  // framing and messages (the wire protocol)
  NFTSYNC_ERR_FRAME_TOO_LARGE: spec('frame length exceeds the limit', false, 413),
  NFTSYNC_ERR_FRAME_TRUNCATED: spec('connection closed in the middle of a frame', true, 400),
  NFTSYNC_ERR_MSG_MALFORMED: spec('message is not a valid nft-sync message', false, 400),
  NFTSYNC_ERR_MSG_INVALID: spec('message fields are invalid', false, 400),
  NFTSYNC_ERR_MSG_UNEXPECTED: spec('message not allowed at this point of the exchange', false, 400),
  NFTSYNC_ERR_PROTO_VERSION: spec('no protocol version in common', false, 400),
  NFTSYNC_ERR_PROTO_TIMEOUT: spec('peer too slow: timed out', true, 408),

  // HTTP API, rollback, status (add new codes of that area below this line)
  NFTSYNC_ERR_API_NOT_FOUND: spec('no such API route', false, 404),
  NFTSYNC_ERR_API_INVALID_REQUEST: spec('request parameters, query or body are invalid', false, 400),
  NFTSYNC_ERR_API_WRITES_DISABLED: spec('writes are disabled: the HTTP listener is not on loopback and no --token-file was given', false, 403),
  NFTSYNC_ERR_AGENT_NOT_FOUND: spec('no agent by that name has connected since the server started', false, 404),
  NFTSYNC_ERR_ROLLBACK_NOOP: spec('the branch already has the rulesets of that revision', false, 409),
  NFTSYNC_ERR_ROLLBACK_CONFLICT: spec('the branch kept moving during the rollback; try again', true, 409),
  NFTSYNC_ERR_AGENT_CONNECTED: spec('the agent is connected now: a connected agent is not forgotten', false, 409),
  NFTSYNC_ERR_AGENT_REGISTRY_FULL: spec('the server tracks as many agents as it may; a new agent\'s report is not kept', true, 503),
  NFTSYNC_ERR_ROLLBACK_UNSIGNED: spec('the releases are signed: a rollback release needs a signature', false, 409),
  NFTSYNC_ERR_SET_NOT_FOUND: spec('no set or map by that name in the ruleset', false, 404),
  NFTSYNC_ERR_ELEMENT_INVALID: spec('a set or map element does not fit the set', false, 422),
  NFTSYNC_ERR_ELEMENTS_CONFLICT: spec('the branch kept moving during the element change; try again', true, 409),
  NFTSYNC_ERR_READ_ONLY_REPLICA: spec('this server is a read-only replica: push and write to the primary', false, 403),
  NFTSYNC_ERR_PUBLISH_CONFLICT: spec('a published live change and the branch changed the same objects', false, 409),
  NFTSYNC_ERR_PUBLISH_RACED: spec('the branch kept moving while a live change was published; the agent tries again', true, 409),
  NFTSYNC_ERR_PUBLISH_DENIED: spec('this agent may not publish to that ruleset or branch', false, 403),

  // connections
  NFTSYNC_ERR_CONN_FAILED: spec('could not connect to the server', true, 503),
  NFTSYNC_ERR_CONN_CLOSED: spec('connection closed', true, 503),
  NFTSYNC_ERR_SERVER_BUSY: spec('server refuses more connections', true, 503),
  NFTSYNC_ERR_SERVER_INTERNAL: spec('internal server error', true, 500),

  // TLS, identity, signed releases (add new codes of that area below this line)
  NFTSYNC_ERR_TLS_IDENTITY: spec('the client certificate does not name this agent', false, 403),
  NFTSYNC_ERR_ACCESS_DENIED: spec('this agent may not fetch that ruleset', false, 403),
  NFTSYNC_ERR_TLS_REJECTED: spec('the TLS handshake failed or the server refused the certificate', true, 503),
  NFTSYNC_ERR_TLS_SERVER_UNTRUSTED: spec('the server certificate is not trusted for this host', true, 503),
  NFTSYNC_ERR_PKI_FAILED: spec('openssl failed to make a key or certificate', false, 500),
  NFTSYNC_ERR_PKI_EXISTS: spec('the CA or certificate already exists; nothing was overwritten', false, 409),
  NFTSYNC_ERR_PROOF_UNAVAILABLE: spec('no annotated tag leads to this revision', false, 404),
  NFTSYNC_ERR_VERIFY_SIGNATURE: spec('the release tag is unsigned or not signed by an allowed key', false, 502),
  NFTSYNC_ERR_VERIFY_CHAIN: spec('the git objects from the tag to the ruleset do not check out', false, 502),
  NFTSYNC_ERR_VERIFY_REPLAY: spec('the release tag is older than the release in force', false, 502),
  NFTSYNC_ERR_RELEASE_DOWNGRADE: spec('the release offered is a lower version than the release in force', false, 409),
  NFTSYNC_ERR_SERVER_BEHIND: spec('the server does not have the revision in force: it is behind the agent', true, 409),

  // revisions and repository
  NFTSYNC_ERR_REF_INVALID: spec('not a valid branch, tag or commit name', false, 400),
  NFTSYNC_ERR_REF_NOT_FOUND: spec('no such branch, tag or commit', false, 404),
  NFTSYNC_ERR_REF_AMBIGUOUS: spec('abbreviated commit id matches more than one commit', false, 400),
  NFTSYNC_ERR_REPO_NOT_FOUND: spec('repository not found or not a git repository', false, 500),
  NFTSYNC_ERR_REPO_EXISTS: spec('target already exists', false, 409),
  NFTSYNC_ERR_REPO_CONFIG_INVALID: spec('nft-sync.yaml is invalid', false, 422),
  NFTSYNC_ERR_REPO_TEMPLATE_INVALID: spec('repository template is missing or holds something other than plain files', false, 500),
  NFTSYNC_ERR_REPO_GIT_FAILED: spec('git failed on the repository', false, 500),
  NFTSYNC_ERR_REF_NOT_COMMIT: spec('the name resolves to a git object that is not a commit', false, 400),
  NFTSYNC_ERR_ROLLOUT_NOT_FOUND: spec('no rollout for this branch', false, 404),
  NFTSYNC_ERR_ROLLOUT_STATE: spec('the rollout is complete or aborted: nothing to resume or abort', false, 409),
  NFTSYNC_ERR_ROLLOUT_UNKNOWN: spec('a replica has not heard from the primary which revision its rollout serves: nothing new is served until it does', true, 503),
  NFTSYNC_ERR_ROLLOUT_STATE_FILE: spec('the saved rollout state (GIT_DIR/nft-sync/rollouts.json) is damaged: damaged rollouts are left out', false, 500),

  // rulesets
  NFTSYNC_ERR_RULESET_NAME_INVALID: spec('ruleset name is not a plain name', false, 400),
  NFTSYNC_ERR_RULESET_NOT_FOUND: spec('no such ruleset at this revision', false, 404),
  NFTSYNC_ERR_RULESET_JSON: spec('ruleset is not valid JSON', false, 422),
  NFTSYNC_ERR_RULESET_SCHEMA: spec('ruleset does not match the ruleset schema', false, 422),
  NFTSYNC_ERR_RULESET_NUMBER_INEXACT: spec('a number in the ruleset would not reach nft as written (above 2^53)', false, 422),
  NFTSYNC_ERR_RULESET_TOO_LARGE: spec('the ruleset the server sent is larger than the agent accepts (--max-ruleset-bytes)', false, 413),
  NFTSYNC_ERR_RULESET_TOO_COMPLEX: spec('ruleset nests too deep or holds too many arrays, objects or object shapes', false, 422),

  // lockout guard, drift, crash safety (add new codes of that area below this line)
  NFTSYNC_ERR_TABLE_NOT_OWNED: spec('the revision declares a table that exists on this host and that nft-sync did not create', false, 409),
  NFTSYNC_ERR_CONFIRM_FAILED: spec('the new ruleset cut the agent off from the server; the previous one was restored', false, 409),
  NFTSYNC_ERR_DRIFTED: spec('the ruleset in force differs from the revision (changed by hand)', true, 409),
  NFTSYNC_ERR_INTERRUPTED: spec('stopped by a signal before the revision was confirmed; the previous ruleset was restored', false, 409),
  NFTSYNC_ERR_DRIFT_LISTENER: spec('the drift listener (python3) cannot run; drift is watched with nft monitor, small rulesets only', false, 500),

  // agent: verification, nft, state
  NFTSYNC_ERR_VERIFY_BLOB_MISMATCH: spec('received bytes do not match the announced blob id', false, 502),
  NFTSYNC_ERR_NFT_EXEC: spec('could not run nft', false, 500),
  NFTSYNC_ERR_NFT_CHECK: spec('nft refused the ruleset in a dry run', false, 422),
  NFTSYNC_ERR_NFT_APPLY: spec('nft refused the ruleset; nothing was changed', false, 422),
  NFTSYNC_ERR_NFT_LIST: spec('nft could not list the ruleset', true, 500),
  NFTSYNC_ERR_NFT_TIMEOUT: spec('nft did not finish within its time limit and was killed', true, 504),
  NFTSYNC_ERR_READBACK_MISMATCH: spec('ruleset read back from nft differs from the revision', false, 500),
  NFTSYNC_ERR_STATE_CORRUPT: spec('agent state directory is unreadable or corrupt', false, 500),
  NFTSYNC_ERR_TIMEOUT: spec('operation timed out', true, 504),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** True when `code` is one of the catalogue's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** The serialised form of an error: what goes into wire error frames and HTTP error bodies. */
export interface ErrorJSON {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  data?: Record<string, unknown>;
}

/**
 * The one error class of nft-sync. `message` names the object and says how to fix it;
 * `data` carries structured details (never credentials); `cause` keeps the underlying error.
 */
export class NftSyncError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: { data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NftSyncError';
    this.code = code;
    this.data = options.data;
  }

  /** Whether trying again later may succeed (from the catalogue). */
  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }

  toJSON(): ErrorJSON {
    const out: ErrorJSON = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.data !== undefined) out.data = this.data;
    return out;
  }

  /** Rebuild an error received from a peer; unknown codes become SERVER_INTERNAL. */
  static fromJSON(json: { code?: unknown; message?: unknown; data?: unknown }): NftSyncError {
    const code = isErrorCode(json.code) ? json.code : 'NFTSYNC_ERR_SERVER_INTERNAL';
    const message = typeof json.message === 'string' ? json.message : undefined;
    const data = json.data !== null && typeof json.data === 'object' ? (json.data as Record<string, unknown>) : undefined;
    return new NftSyncError(code, message, { data });
  }
}

/** Wrap anything thrown into an NftSyncError, keeping NftSyncErrors as they are. */
export function toNftSyncError(err: unknown, fallback: ErrorCode = 'NFTSYNC_ERR_SERVER_INTERNAL'): NftSyncError {
  if (err instanceof NftSyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new NftSyncError(fallback, message, { cause: err });
}
