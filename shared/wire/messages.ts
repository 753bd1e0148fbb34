/**
 * The wire protocol's messages as the server and the agent use them: their types, the limits on
 * frames, and validateMessage, the one check of every message either side reads.
 *
 * The schemas are in message-schemas.ts (TypeBox, one per message; the types here are derived
 * from them). validateMessage runs message-validators.ts, the code ajv compiles from those
 * schemas at build time (`npm run build`; its test fails when it is stale): the same check as
 * compiling them at start-up, without loading TypeBox and ajv into every agent and server.
 */
import { NftSyncError } from '../errors.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import type { Message, ProofEntry } from './message-schemas.js';
import { CLIENT_MESSAGE_TYPE_LIST, MESSAGE_VALIDATORS, SERVER_MESSAGE_TYPE_LIST } from './message-validators.js';

export type {
  Revision,
  HelloMessage,
  FetchMessage,
  SubscribeMessage,
  Condition,
  AgentStatus,
  ReportMessage,
  PingMessage,
  PublishMessage,
  WelcomeMessage,
  ProofEntry,
  RulesetMessage,
  UnchangedMessage,
  SubscribedMessage,
  MovedMessage,
  AheadMessage,
  AckMessage,
  PongMessage,
  PublishedMessage,
  ErrorMessage,
  ClientMessage,
  ServerMessage,
  Message,
} from './message-schemas.js';

/**
 * Protocol versions this build speaks, oldest first. Version 2 adds `ahead` (asked in
 * `subscribe`): a small delta of the revision a branch is moving to, sent before `moved`.
 */
export const PROTOCOL_VERSIONS = [1, 2] as const;
/** Limit on any frame before the handshake is done (what an agent accepts before welcome). */
export const PRE_HANDSHAKE_MAX_FRAME = SHARED_DEFAULTS.wire.preHandshakeMaxFrame;
/**
 * Limit on the first frame a server accepts from a client: a hello is under 1 KiB even with the
 * longest name and token, and a stranger who has not said hello must not make the server hold
 * more than this per connection.
 */
export const HELLO_MAX_FRAME = SHARED_DEFAULTS.wire.helloMaxFrame;
/**
 * Limit on every frame a server accepts from a client after hello (announced as `welcome.maxFrame`).
 * An agent's requests are small (the largest is a report, see MAX_REPORT_BYTES): nothing a client
 * sends may make the server buffer or parse megabytes.
 */
export const CLIENT_MAX_FRAME = SHARED_DEFAULTS.wire.clientMaxFrame;
/**
 * Limit on frames from a client whose hello carried a write credential (a write token, or under
 * mutual TLS a certificate): a `publish` carries a whole ruleset. Live changes are published
 * only for small rulesets (agent/publish/), well under this.
 */
export const WRITER_MAX_FRAME = SHARED_DEFAULTS.wire.writerMaxFrame;
/** Largest `status` of a report, as JSON (two conditions with 4,096-character messages fit). */
export const MAX_REPORT_BYTES = SHARED_DEFAULTS.wire.maxReportBytes;
/**
 * Default limit on frames a server sends, i.e. ruleset answers (a 1,000,000-element set is about
 * 40 MB); the agent's default limit on what it reads after welcome.
 */
export const DEFAULT_MAX_FRAME = SHARED_DEFAULTS.wire.maxAnswerFrame;

/** Message types an agent may send, and those a server may send. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(CLIENT_MESSAGE_TYPE_LIST);
export const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set(SERVER_MESSAGE_TYPE_LIST);
/** Length of the body a message with a body announces: `size`, plus its proof objects' sizes. */
export function announcedBodyLength(message: Message): number | undefined {
  const { size, proof } = message as { size?: number; proof?: ProofEntry[] };
  if (size === undefined) return undefined;
  return size + (proof ?? []).reduce((n, p) => n + p.size, 0);
}

/**
 * Largest delta an `ahead` frame carries: its frame stays well under the 64 KiB an agent reads
 * while no fetch is outstanding (agent/defaults.ts wire.idleMaxFrame), header included.
 */
export const AHEAD_MAX_DELTA_BYTES = 48 * 1024;

/** Message types that carry a body after their header. */
export const MESSAGE_TYPES_WITH_BODY: ReadonlySet<string> = new Set(['ruleset', 'publish', 'ahead']);

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
  const validate = typeof type === 'string' && allowed.has(type) ? MESSAGE_VALIDATORS.get(type) : undefined;
  if (validate === undefined) {
    // Described without serialising it: `type` may be a 30,000-deep nested array, which
    // JSON.stringify or String() would walk recursively until the stack overflows.
    const shown = typeof type === 'string' ? type.slice(0, 40) : Array.isArray(type) ? 'an array' : type === null ? 'null' : typeof type;
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `unknown or unexpected message type ${typeof type === 'string' ? JSON.stringify(shown) : shown}`, {
      data: { type: shown },
    });
  }
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const where = e ? `${e.instancePath || '(message)'} ${e.message ?? ''}`.trim() : 'invalid';
    // The name of an unknown field is the sender's: clipped, so the error sent back stays small.
    const name = String((e?.params as { additionalProperty?: string } | undefined)?.additionalProperty);
    const extra = e?.keyword === 'additionalProperties' ? ` (${name.length > 64 ? `${name.slice(0, 64)}…` : name})` : '';
    throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `${type} message: ${where}${extra}`, { data: { type } });
  }
  return value as T;
}
