/**
 * The messages of the nft-sync wire protocol, version 1: one schema per message, written once
 * with TypeBox (the TypeScript type of each is derived from it: `Static<typeof X>`).
 * docs/protocol.md describes the exchange with an example of each.
 *
 * Agent to server: hello, fetch, subscribe, report, ping, publish (with a body: the ruleset's bytes).
 * Server to agent: welcome, ruleset (with a body: the ruleset's bytes), unchanged, subscribed,
 * moved, ack, pong, published, error.
 *
 * These schemas are the single source of the checks: scripts/generate-validators.ts compiles
 * MESSAGE_SCHEMAS at build time (`npm run build`) into message-validators.ts, which
 * validateMessage (messages.ts) runs, and the test of that file fails when it is stale. Code
 * that runs in the agent or the server imports messages.ts (the types, limits and the
 * validator), never this module's values: TypeBox and ajv would cost an idle agent 6 to 12 MB.
 */
import { Type, type SchemaOptions, type Static, type TLiteral, type TObject, type TProperties, type TUnsafe } from '@sinclair/typebox';
import type { ErrorCode } from '../errors.js';
import { AGENT_NAME_PATTERN, OBJECT_ID_PATTERN, REF_MAX_LENGTH, RULESET_NAME_PATTERN } from '../ruleset/names.js';

/** A string that must be one of `values` (an `enum`, so errors list the allowed values). */
function oneOf<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, enum: [...values] });
}

const id = Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 });
const oid = Type.String({ pattern: OBJECT_ID_PATTERN });
const ref = Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH });
const rulesetName = Type.String({ pattern: RULESET_NAME_PATTERN });
const agentName = Type.String({ pattern: AGENT_NAME_PATTERN });
const text = (max: number, description?: string) => Type.String({ maxLength: max, ...(description ? { description } : {}) });
/** No control characters (C0, DEL, C1): refs and tags an agent reports are printed on operators' terminals. */
const PRINTABLE_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f]+$';
const pascal = (description: string) => Type.String({ pattern: '^[A-Z][A-Za-z]{0,63}$', description });

/** A message: an object closed to unknown keys whose `type` is `type`. */
function message<const K extends string, P extends TProperties>(type: K, properties: P, description: string) {
  return Type.Object({ type: Type.Literal(type), ...properties }, { additionalProperties: false, description });
}

/** A revision: the resolved commit id and the git blob id of `rulesets/NAME.json` at it. */
export const Revision = Type.Object({ commit: oid, blob: oid }, { additionalProperties: false });
export type Revision = Static<typeof Revision>;

export const HelloMessage = message(
  'hello',
  {
    versions: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, maxItems: 16, description: 'versions the agent speaks; the server picks the highest it shares' }),
    agent: Type.Optional(Type.String({ pattern: AGENT_NAME_PATTERN, description: "the agent's name (its identity for status and for nft-sync.yaml)" })),
    software: Type.Optional(text(128)),
    // Any string: a malformed token is refused as a wrong one (NFTSYNC_ERR_AUTH_REQUIRED).
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "a token of the server's --token-file: required over plain TCP with --read-token-required (under mutual TLS the certificate is enough); never logged" })),
    check: Type.Optional(Type.Boolean({ description: "a lockout guard's check connection (the agent's post-apply probe): it only pings and is closed after the first pong; let in over the total connection cap, into room kept for checks" })),
  },
  'agent to server, first: the versions the agent speaks and who it is',
);
export type HelloMessage = Static<typeof HelloMessage>;

export const FetchMessage = message(
  'fetch',
  {
    id,
    ref: Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'a branch, tag or commit; with `track`, a tag pattern (`v*`): the highest version matching' }),
    track: Type.Optional(Type.Boolean()),
    ruleset: Type.Optional(Type.String({ pattern: RULESET_NAME_PATTERN, description: 'ruleset to fetch; without it the server picks one for the agent from nft-sync.yaml' })),
    have: Type.Optional(Type.Object({ commit: oid, blob: oid }, { additionalProperties: false, description: 'what the agent has applied; when it equals the answer the server says `unchanged`' })),
    proof: Type.Optional(Type.Boolean({ description: 'ask for a release proof: the raw git objects from the tag `ref` names to the ruleset, sent after the ruleset bytes' })),
    delta: Type.Optional(
      Type.Boolean({ description: 'the agent can rebuild the ruleset from a delta against `have` (shared/wire/ruleset-delta.ts): the server may answer with one' }),
    ),
    checkBehind: Type.Optional(
      Type.Boolean({ description: 'with `have`, not with `track`: say in the answer (`behind`) whether this server is behind the agent, i.e. does not have `have.commit` (a replica whose mirror lags)' }),
    ),
  },
  'agent to server: the ruleset at a ref, or `unchanged`',
);
export type FetchMessage = Static<typeof FetchMessage>;

export const SubscribeMessage = message(
  'subscribe',
  {
    id,
    ref: Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'as in fetch: with `track`, a tag pattern whose highest matching version is followed' }),
    track: Type.Optional(Type.Boolean()),
    ahead: Type.Optional(
      Type.Boolean({ description: 'protocol version 2, not with `track`: send `ahead` before `moved` when the server has the new revision as a small delta (the agent rebuilds and hashes it before its fetch is answered)' }),
    ),
  },
  'agent to server: tell me when this ref moves',
);
export type SubscribeMessage = Static<typeof SubscribeMessage>;

/** One condition of an agent's status (Kubernetes style). */
export const Condition = Type.Object(
  {
    type: pascal('PascalCase condition type, e.g. Ready'),
    status: oneOf(['True', 'False', 'Unknown'] as const),
    reason: pascal('stable PascalCase reason: Applied, VerifyFailed, ApplyFailed, Unreachable, ...'),
    message: Type.Optional(text(4096)),
  },
  { additionalProperties: false },
);
export type Condition = Static<typeof Condition>;

/** What an agent reports about itself. */
export const AgentStatus = Type.Object(
  {
    agent: agentName,
    ref: Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, pattern: PRINTABLE_PATTERN, description: 'the ref followed; for a tracked tag pattern, the pattern' }),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, pattern: PRINTABLE_PATTERN, description: 'for a tracked tag pattern: the tag in force' })),
    ruleset: Type.Optional(rulesetName),
    commit: Type.Optional(Type.String({ pattern: OBJECT_ID_PATTERN, description: 'the revision in force on the host' })),
    blob: Type.Optional(oid),
    attemptedCommit: Type.Optional(Type.String({ pattern: OBJECT_ID_PATTERN, description: 'the last revision the agent tried (equals `commit` when that succeeded)' })),
    state: oneOf(['Applied', 'Applying', 'Failed', 'Degraded', 'Unknown'] as const),
    conditions: Type.Array(Condition, { maxItems: 32 }),
    appliedAt: Type.Optional(text(64)),
  },
  { additionalProperties: false },
);
export type AgentStatus = Static<typeof AgentStatus>;

export const ReportMessage = message('report', { id, status: AgentStatus }, 'agent to server: its status after every reconcile and on every reconnect');
export type ReportMessage = Static<typeof ReportMessage>;

export const PingMessage = message('ping', { id }, 'agent to server: keep the idle link alive');
export type PingMessage = Static<typeof PingMessage>;

export const PublishMessage = message(
  'publish',
  {
    id,
    ref: Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'the branch the live change goes to (`main` or `refs/heads/main`)' }),
    ruleset: rulesetName,
    base: Type.String({ pattern: OBJECT_ID_PATTERN, description: 'the commit whose ruleset the live change started from (the one the agent had applied)' }),
    size: Type.Integer({ minimum: 0, description: 'bytes of the ruleset in the body' }),
  },
  'agent to server (agent --publish): a live change, the ruleset bytes in the body, to commit on the branch (merged onto the tip when it moved since `base`, validated as a push)',
);
export type PublishMessage = Static<typeof PublishMessage>;

export const WelcomeMessage = message(
  'welcome',
  {
    version: Type.Integer({ minimum: 1 }),
    server: text(128),
    maxFrame: Type.Integer({ minimum: 1, description: 'largest frame the server accepts from this client from now on (64 KiB)' }),
    heartbeat: Type.Integer({ minimum: 0, description: 'interval in milliseconds at which the agent should ping when the link is idle' }),
  },
  'server to agent: the answer to hello',
);
export type WelcomeMessage = Static<typeof WelcomeMessage>;

/** One object of a release proof: its type, its claimed id and its content's length. */
export const ProofEntry = Type.Object(
  { type: oneOf(['tag', 'commit', 'tree', 'blob'] as const), id: oid, size: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type ProofEntry = Static<typeof ProofEntry>;

/** `behind` of a fetch's answer. */
const BEHIND_DESCRIPTION = 'only when the fetch asked (`checkBehind`): true when this server does not have the commit of the fetch\'s `have` (then the answer is `unchanged` with that `have`: the agent is not moved back); a primary is never behind';

export const RulesetMessage = message(
  'ruleset',
  {
    id,
    ref,
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'for a tracked tag pattern: the tag chosen' })),
    ruleset: rulesetName,
    commit: oid,
    blob: oid,
    size: Type.Integer({ minimum: 0, description: 'bytes of the ruleset (with `delta`: of the delta) at the start of the body that follows the header' }),
    delta: Type.Optional(
      Type.Object(
        { base: oid, size: Type.Integer({ minimum: 0 }) },
        {
          additionalProperties: false,
          description: "only when the fetch asked for deltas: the body holds a delta against the ruleset blob `base` (the fetch's `have`), which rebuilds the ruleset's `size` bytes, with blob id `blob`",
        },
      ),
    ),
    proof: Type.Optional(
      Type.Array(ProofEntry, {
        maxItems: 16,
        description:
          'only when the fetch asked for a proof: the git objects whose contents follow the ruleset bytes in the body, in this order (tag..., commit, root tree, rulesets tree, and when the fetch named no ruleset the blob of nft-sync.yaml at the commit, if it has one)',
      }),
    ),
    behind: Type.Optional(Type.Boolean({ description: BEHIND_DESCRIPTION })),
  },
  'server to agent: a ruleset; its bytes (and proof objects) follow in the body',
);
export type RulesetMessage = Static<typeof RulesetMessage>;

export const UnchangedMessage = message(
  'unchanged',
  { id, ref, tag: Type.Optional(ref), ruleset: rulesetName, commit: oid, blob: oid, behind: Type.Optional(Type.Boolean({ description: BEHIND_DESCRIPTION })) },
  'server to agent: the fetch answer equals what the agent has',
);
export type UnchangedMessage = Static<typeof UnchangedMessage>;

export const SubscribedMessage = message(
  'subscribed',
  { id, ref, commit: Type.Optional(Type.String({ pattern: OBJECT_ID_PATTERN, description: 'absent when the ref does not exist yet; `moved` follows when it appears' })) },
  'server to agent: the subscription holds',
);
export type SubscribedMessage = Static<typeof SubscribedMessage>;

export const MovedMessage = message('moved', { ref, track: Type.Optional(Type.Boolean()), commit: oid }, 'server to agent: a subscribed ref moved');
export type MovedMessage = Static<typeof MovedMessage>;

export const AheadMessage = message(
  'ahead',
  {
    ref,
    ruleset: rulesetName,
    commit: oid,
    base: oid,
    size: Type.Integer({ minimum: 0, description: 'bytes of the delta in the body that follows the header' }),
    target: Type.Integer({ minimum: 0, description: 'bytes the delta rebuilds' }),
  },
  "server to agent (protocol version 2, asked in subscribe): ref `ref` is moving to `commit` (`moved` follows), whose ruleset `ruleset` this delta against blob `base` rebuilds; its blob id comes only in the fetch's answer, which alone the agent acts on",
);
export type AheadMessage = Static<typeof AheadMessage>;

export const AckMessage = message('ack', { id }, 'server to agent: a report was recorded');
export type AckMessage = Static<typeof AckMessage>;

export const PongMessage = message('pong', { id }, 'server to agent: the answer to ping');
export type PongMessage = Static<typeof PongMessage>;

export const PublishedMessage = message(
  'published',
  {
    id,
    ref,
    commit: Type.String({ pattern: OBJECT_ID_PATTERN, description: 'where the branch is now: the new commit, or the tip when nothing changed' }),
    blob: Type.String({ pattern: OBJECT_ID_PATTERN, description: 'blob id of the ruleset at `commit`' }),
    rebased: Type.Boolean({ description: 'the change was merged onto a tip that had moved since `base`' }),
    unchanged: Type.Boolean({ description: 'the tip already had this content: no commit was made' }),
  },
  'server to agent: the answer to publish',
);
export type PublishedMessage = Static<typeof PublishedMessage>;

export const ErrorMessage = message(
  'error',
  {
    id: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1, description: 'the request this answers; absent for connection-level errors' })),
    code: Type.Unsafe<ErrorCode>(Type.String({ pattern: '^NFTSYNC_ERR_[A-Z_]+$' })),
    message: text(8192),
    retryable: Type.Boolean(),
    fatal: Type.Boolean({ description: 'true when the server closes the connection after this frame' }),
  },
  'server to agent: a request (or the connection) failed',
);
export type ErrorMessage = Static<typeof ErrorMessage>;

/** What an agent may send. */
export const ClientMessage = Type.Union([HelloMessage, FetchMessage, SubscribeMessage, ReportMessage, PingMessage, PublishMessage]);
export type ClientMessage = Static<typeof ClientMessage>;
/** What a server may send. */
export const ServerMessage = Type.Union([WelcomeMessage, RulesetMessage, UnchangedMessage, SubscribedMessage, MovedMessage, AheadMessage, AckMessage, PongMessage, PublishedMessage, ErrorMessage]);
export type ServerMessage = Static<typeof ServerMessage>;
export type Message = ClientMessage | ServerMessage;

function byType(schemas: readonly TObject[]): Map<string, TObject> {
  return new Map(schemas.map((s) => [(s.properties.type as TLiteral<string>).const, s]));
}
const CLIENT_SCHEMAS = byType(ClientMessage.anyOf);
const SERVER_SCHEMAS = byType(ServerMessage.anyOf);

/** The schema of every message, by type: the members of ClientMessage and ServerMessage. */
export const MESSAGE_SCHEMAS: ReadonlyMap<Message['type'], TObject> = new Map([...CLIENT_SCHEMAS, ...SERVER_SCHEMAS]) as ReadonlyMap<Message['type'], TObject>;
