/**
 * The messages of the nft-sync wire protocol, version 1: one JSON Schema per message, the
 * TypeScript types that go with them, and the validator every side uses. docs/protocol.md
 * describes the exchange with an example of each.
 *
 * Agent to server: hello, fetch, subscribe, report, ping, publish (with a body: the ruleset's bytes).
 * Server to agent: welcome, ruleset (with a body: the ruleset's bytes), unchanged, subscribed,
 * moved, ack, pong, published, error.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { NftSyncError, type ErrorCode } from '../errors.js';
import { AGENT_NAME_PATTERN, OBJECT_ID_PATTERN, REF_MAX_LENGTH, RULESET_NAME_PATTERN } from '../ruleset/names.js';

/** Protocol versions this build speaks, oldest first. */
export const PROTOCOL_VERSIONS = [1] as const;
/** Limit on any frame before the handshake is done (what an agent accepts before welcome). */
export const PRE_HANDSHAKE_MAX_FRAME = 64 * 1024;
/**
 * Limit on the first frame a server accepts from a client: a hello is under 1 KiB even with the
 * longest name and token, and a stranger who has not said hello must not make the server hold
 * more than this per connection.
 */
export const HELLO_MAX_FRAME = 4 * 1024;
/**
 * Limit on every frame a server accepts from a client after hello (announced as `welcome.maxFrame`).
 * An agent's requests are small (the largest is a report, see MAX_REPORT_BYTES): nothing a client
 * sends may make the server buffer or parse megabytes.
 */
export const CLIENT_MAX_FRAME = 64 * 1024;
/**
 * Limit on frames from a client whose hello carried a write credential (a write token, or under
 * mutual TLS a certificate): a `publish` carries a whole ruleset. Live changes are published
 * only for small rulesets (agent/publish/), well under this.
 */
export const WRITER_MAX_FRAME = 8 * 1024 * 1024;
/** Largest `status` of a report, as JSON (two conditions with 4,096-character messages fit). */
export const MAX_REPORT_BYTES = 16 * 1024;
/**
 * Default limit on frames a server sends, i.e. ruleset answers (a 1,000,000-element set is about
 * 40 MB); the agent's default limit on what it reads after welcome.
 */
export const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;

export interface Revision {
  /** Resolved commit id. */
  commit: string;
  /** Git blob id of `rulesets/NAME.json` at that commit. */
  blob: string;
}

export interface HelloMessage {
  type: 'hello';
  /** Versions the agent speaks; the server picks the highest it shares. */
  versions: number[];
  /** The agent's name (its identity for status and for nft-sync.yaml). */
  agent?: string;
  software?: string;
  /**
   * A token from the server's --token-file: required over plain TCP when the server runs with
   * --read-token-required (under mutual TLS the certificate is enough). Never logged.
   */
  token?: string;
}
export interface FetchMessage {
  type: 'fetch';
  id: number;
  /** A branch, tag or commit; with `track`, a tag pattern (`v*`): the highest version matching. */
  ref: string;
  track?: boolean;
  /** Ruleset to fetch; without it the server picks one for the agent from nft-sync.yaml. */
  ruleset?: string;
  /** What the agent has applied; when it equals the answer the server says `unchanged`. */
  have?: Revision;
  /**
   * Ask for a release proof (signed releases): the raw git objects from the tag `ref` names to
   * the ruleset, sent after the ruleset's bytes. Optional, so version 1 peers stay compatible.
   */
  proof?: boolean;
}
export interface SubscribeMessage {
  type: 'subscribe';
  id: number;
  /** As in fetch: with `track`, a tag pattern whose highest matching version is followed. */
  ref: string;
  track?: boolean;
}
export interface Condition {
  /** PascalCase condition type, e.g. Ready. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** Stable PascalCase reason: Applied, VerifyFailed, ApplyFailed, Unreachable, ... */
  reason: string;
  message?: string;
}
export interface AgentStatus {
  agent: string;
  /** The ref followed; for a tracked tag pattern, the pattern. */
  ref: string;
  /** For a tracked tag pattern: the tag in force. */
  tag?: string;
  ruleset?: string;
  /** The revision in force on the host. */
  commit?: string;
  blob?: string;
  /** The last revision the agent tried (equals `commit` when that succeeded). */
  attemptedCommit?: string;
  state: 'Applied' | 'Applying' | 'Failed' | 'Degraded' | 'Unknown';
  conditions: Condition[];
  appliedAt?: string;
}
export interface ReportMessage {
  type: 'report';
  id: number;
  status: AgentStatus;
}
/**
 * A live change to publish (agent --publish): the ruleset's bytes follow in the body. The server
 * commits them as a new revision of `rulesets/RULESET.json` on branch `ref`, merged onto the tip
 * when the branch moved since `base` (the commit the agent had applied), validated as a push.
 */
export interface PublishMessage {
  type: 'publish';
  id: number;
  /** A branch name (`main` or `refs/heads/main`). */
  ref: string;
  ruleset: string;
  /** The commit whose ruleset the live change started from. */
  base: string;
  /** Bytes of the ruleset in the body. */
  size: number;
}
export interface PingMessage {
  type: 'ping';
  id: number;
}

export interface WelcomeMessage {
  type: 'welcome';
  version: number;
  server: string;
  /** Largest frame the server accepts from this client from now on (64 KiB). */
  maxFrame: number;
  /** Interval in milliseconds at which the agent should ping when the link is idle. */
  heartbeat: number;
}
export interface RulesetMessage {
  type: 'ruleset';
  id: number;
  ref: string;
  /** For a tracked tag pattern: the tag chosen. */
  tag?: string;
  ruleset: string;
  commit: string;
  blob: string;
  /** Bytes of the ruleset at the start of the body that follows the header. */
  size: number;
  /**
   * Only when the fetch asked for a proof: the git objects whose contents follow the ruleset's
   * bytes in the body, in this order (tag…, commit, root tree, rulesets tree, and when the fetch
   * named no ruleset the blob of `nft-sync.yaml` at the commit, if it has one).
   */
  proof?: ProofEntry[];
}
/** One object of a release proof: its type, its claimed id and its content's length. */
export interface ProofEntry {
  type: 'tag' | 'commit' | 'tree' | 'blob';
  id: string;
  size: number;
}
export interface UnchangedMessage {
  type: 'unchanged';
  id: number;
  ref: string;
  tag?: string;
  ruleset: string;
  commit: string;
  blob: string;
}
export interface SubscribedMessage {
  type: 'subscribed';
  id: number;
  ref: string;
  /** Absent when the ref does not exist yet; `moved` follows when it appears. */
  commit?: string;
}
export interface MovedMessage {
  type: 'moved';
  ref: string;
  track?: boolean;
  commit: string;
}
export interface AckMessage {
  type: 'ack';
  id: number;
}
export interface PongMessage {
  type: 'pong';
  id: number;
}
/** The answer to publish: the branch now points at `commit` (new, or the tip when nothing changed). */
export interface PublishedMessage {
  type: 'published';
  id: number;
  ref: string;
  commit: string;
  /** Blob id of the ruleset at `commit`. */
  blob: string;
  /** True when the change was merged onto a tip that had moved since `base`. */
  rebased: boolean;
  /** True when the tip already had this content: no commit was made. */
  unchanged: boolean;
}
export interface ErrorMessage {
  type: 'error';
  /** The request this answers; absent for connection-level errors. */
  id?: number;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** True when the server closes the connection after this frame. */
  fatal: boolean;
}

export type ClientMessage = HelloMessage | FetchMessage | SubscribeMessage | ReportMessage | PingMessage | PublishMessage;
export type ServerMessage =
  | WelcomeMessage
  | RulesetMessage
  | UnchangedMessage
  | SubscribedMessage
  | MovedMessage
  | AckMessage
  | PongMessage
  | PublishedMessage
  | ErrorMessage;
export type Message = ClientMessage | ServerMessage;

const id = { type: 'integer', minimum: 0, maximum: 2 ** 32 - 1 } as const;
const oid = { type: 'string', pattern: OBJECT_ID_PATTERN } as const;
const ref = { type: 'string', minLength: 1, maxLength: REF_MAX_LENGTH } as const;
const rulesetName = { type: 'string', pattern: RULESET_NAME_PATTERN } as const;
const agentName = { type: 'string', pattern: AGENT_NAME_PATTERN } as const;
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;

function message(type: string, properties: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...required],
    properties: { type: { const: type }, ...properties },
  };
}

const condition = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'status', 'reason'],
  properties: {
    type: { type: 'string', pattern: '^[A-Z][A-Za-z]{0,63}$' },
    status: { enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', pattern: '^[A-Z][A-Za-z]{0,63}$' },
    message: text(4096),
  },
};

/** JSON Schemas of every message, by type. */
export const MESSAGE_SCHEMAS: Record<Message['type'], Record<string, unknown>> = {
  hello: message(
    'hello',
    {
      versions: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'integer', minimum: 1, maximum: 65535 } },
      agent: agentName,
      software: text(128),
      // Any string: a malformed token is refused as a wrong one (NFTSYNC_ERR_AUTH_REQUIRED).
      token: { type: 'string', minLength: 1, maxLength: 512 },
    },
    ['versions'],
  ),
  fetch: message(
    'fetch',
    {
      id,
      ref,
      track: { type: 'boolean' },
      ruleset: rulesetName,
      have: {
        type: 'object',
        additionalProperties: false,
        required: ['commit', 'blob'],
        properties: { commit: oid, blob: oid },
      },
      proof: { type: 'boolean' },
    },
    ['id', 'ref'],
  ),
  subscribe: message('subscribe', { id, ref, track: { type: 'boolean' } }, ['id', 'ref']),
  report: message(
    'report',
    {
      id,
      status: {
        type: 'object',
        additionalProperties: false,
        required: ['agent', 'ref', 'state', 'conditions'],
        properties: {
          agent: agentName,
          ref,
          tag: ref,
          ruleset: rulesetName,
          commit: oid,
          blob: oid,
          attemptedCommit: oid,
          state: { enum: ['Applied', 'Applying', 'Failed', 'Degraded', 'Unknown'] },
          conditions: { type: 'array', maxItems: 32, items: condition },
          appliedAt: text(64),
        },
      },
    },
    ['id', 'status'],
  ),
  ping: message('ping', { id }, ['id']),
  publish: message('publish', { id, ref, ruleset: rulesetName, base: oid, size: { type: 'integer', minimum: 0 } }, ['id', 'ref', 'ruleset', 'base', 'size']),
  published: message(
    'published',
    { id, ref, commit: oid, blob: oid, rebased: { type: 'boolean' }, unchanged: { type: 'boolean' } },
    ['id', 'ref', 'commit', 'blob', 'rebased', 'unchanged'],
  ),
  welcome: message(
    'welcome',
    { version: { type: 'integer', minimum: 1 }, server: text(128), maxFrame: { type: 'integer', minimum: 1 }, heartbeat: { type: 'integer', minimum: 0 } },
    ['version', 'server', 'maxFrame', 'heartbeat'],
  ),
  ruleset: message(
    'ruleset',
    {
      id,
      ref,
      tag: ref,
      ruleset: rulesetName,
      commit: oid,
      blob: oid,
      size: { type: 'integer', minimum: 0 },
      proof: {
        type: 'array',
        maxItems: 16,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'id', 'size'],
          properties: { type: { enum: ['tag', 'commit', 'tree', 'blob'] }, id: oid, size: { type: 'integer', minimum: 0 } },
        },
      },
    },
    ['id', 'ref', 'ruleset', 'commit', 'blob', 'size'],
  ),
  unchanged: message('unchanged', { id, ref, tag: ref, ruleset: rulesetName, commit: oid, blob: oid }, ['id', 'ref', 'ruleset', 'commit', 'blob']),
  subscribed: message('subscribed', { id, ref, commit: oid }, ['id', 'ref']),
  moved: message('moved', { ref, track: { type: 'boolean' }, commit: oid }, ['ref', 'commit']),
  ack: message('ack', { id }, ['id']),
  pong: message('pong', { id }, ['id']),
  error: message(
    'error',
    {
      id,
      code: { type: 'string', pattern: '^NFTSYNC_ERR_[A-Z_]+$' },
      message: text(8192),
      retryable: { type: 'boolean' },
      fatal: { type: 'boolean' },
    },
    ['code', 'message', 'retryable', 'fatal'],
  ),
};

/** Message types an agent may send, and those a server may send. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(['hello', 'fetch', 'subscribe', 'report', 'ping', 'publish']);
export const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'welcome', 'ruleset', 'unchanged', 'subscribed', 'moved', 'ack', 'pong', 'published', 'error',
]);
/** Length of the body a message with a body announces: `size`, plus its proof objects' sizes. */
export function announcedBodyLength(message: Message): number | undefined {
  const { size, proof } = message as { size?: number; proof?: ProofEntry[] };
  if (size === undefined) return undefined;
  return size + (proof ?? []).reduce((n, p) => n + p.size, 0);
}

/** Message types that carry a body after their header. */
export const MESSAGE_TYPES_WITH_BODY: ReadonlySet<string> = new Set(['ruleset', 'publish']);

const ajv = new Ajv({ allErrors: false, strict: true });
/**
 * Compiled on first use: an agent only ever checks what a server sends, a server what agents
 * send, so neither carries the other's compiled validators (memory of an idle agent).
 */
const validators = new Map<string, ValidateFunction>();
function validatorFor(type: Message['type']): ValidateFunction {
  let v = validators.get(type);
  if (v === undefined) {
    v = ajv.compile(MESSAGE_SCHEMAS[type]);
    validators.set(type, v);
  }
  return v;
}

/**
 * Check that `value` is a well-formed message of one of `allowed` types. Returns it typed;
 * throws NFTSYNC_ERR_MSG_MALFORMED when it is not an object with a known `type`, and
 * NFTSYNC_ERR_MSG_INVALID (naming the field) when a field is missing, extra or out of range.
 */
export function validateMessage<T extends Message>(value: unknown, allowed: ReadonlySet<string>): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', 'message header is not a JSON object');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !allowed.has(type)) {
    // Described without serialising it: `type` may be a 30,000-deep nested array, which
    // JSON.stringify or String() would walk recursively until the stack overflows.
    const shown = typeof type === 'string' ? type.slice(0, 40) : Array.isArray(type) ? 'an array' : type === null ? 'null' : typeof type;
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `unknown or unexpected message type ${typeof type === 'string' ? JSON.stringify(shown) : shown}`, {
      data: { type: shown },
    });
  }
  const validate = validatorFor(type as Message['type']);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const where = e ? `${e.instancePath || '(message)'} ${e.message ?? ''}`.trim() : 'invalid';
    const extra = e?.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `${type} message: ${where}${extra}`, { data: { type } });
  }
  return value as T;
}
