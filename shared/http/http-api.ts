/**
 * The HTTP API's request and response bodies, each declared once as a TypeBox schema with its
 * TypeScript type derived from it (`Static<typeof X>`). The server registers its routes with
 * these schemas (fastify validates requests against them, @fastify/swagger builds the OpenAPI
 * document from them); the CLI reads the answers with the derived types. Pure: no IO.
 *
 * docs/http-api.md describes the routes; the served document (GET /api/v1/openapi.json) is the
 * authoritative description, and tests check every answer against these schemas.
 */
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { ERRORS, type ErrorCode } from '../errors.js';
import { AgentStatus } from '../wire/message-schemas.js';
import { AGENT_NAME_PATTERN, REF_MAX_LENGTH, RULESET_NAME_PATTERN } from '../ruleset/names.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import { RulesetDiff } from '../ruleset/ruleset-diff.js';
import { Ruleset } from '../ruleset/ruleset-types.js';
import { FAMILIES, NFT_NAME_PATTERN } from '../ruleset/ruleset-items.js';

/** A string that must be one of `values` (`{type: string, enum}`: errors list the values). */
function stringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}
/** `schema` with a description (for a body: what @fastify/swagger shows as the answer's). */
function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

const commit = Type.String({ description: 'full commit id' });
const blob = Type.String({ description: 'git blob id of rulesets/NAME.json' });

// ---- Errors -------------------------------------------------------------------------------

/** The one error shape every failure answers with, at the catalogue's HTTP status. */
export const ApiError = Type.Object(
  {
    error: Type.Object({
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERRORS) }),
      message: Type.String({ description: 'what is wrong and how to fix it' }),
      retryable: Type.Boolean(),
      data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'structured details (never credentials)' })),
    }),
  },
  // Its $id names it once in the OpenAPI document (components.schemas.ApiError).
  { $id: 'ApiError', description: 'a failure: the code of the catalogue (docs/errors.md) gives the status' },
);
export type ApiError = Static<typeof ApiError>;

// ---- Parameters and bodies of requests ----------------------------------------------------

/** Query parameter `ref`: validated by assertRef when resolved (the stable REF_INVALID code). */
export const RefParam = Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'branch, tag or commit id (default main)' });

/** `:name` of /api/v1/rulesets/:name. */
export const RulesetNameParams = Type.Object({ name: Type.String({ pattern: RULESET_NAME_PATTERN, description: 'ruleset name (rulesets/NAME.json)' }) });
export type RulesetNameParams = Static<typeof RulesetNameParams>;

/** `:name` of /api/v1/agents/:name. */
export const AgentNameParams = Type.Object({ name: Type.String({ pattern: AGENT_NAME_PATTERN }) });
export type AgentNameParams = Static<typeof AgentNameParams>;

export const RulesetsQuery = Type.Object({ ref: Type.Optional(RefParam) }, { additionalProperties: false });
export type RulesetsQuery = Static<typeof RulesetsQuery>;

export const RulesetQuery = Type.Object(
  { ref: Type.Optional(RefParam), raw: Type.Optional(stringEnum(['0', '1', 'false', 'true'] as const, { description: 'raw=1: answer the stored bytes as they are' })) },
  { additionalProperties: false },
);
export type RulesetQuery = Static<typeof RulesetQuery>;

/** Default of RevisionsQuery.limit. */
export const REVISIONS_DEFAULT_LIMIT = 50;
export const RevisionsQuery = Type.Object(
  { ref: Type.Optional(RefParam), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: REVISIONS_DEFAULT_LIMIT, description: 'most commits returned (1-1000, default 50)' })) },
  { additionalProperties: false },
);
export type RevisionsQuery = Static<typeof RevisionsQuery>;

export const DiffQuery = Type.Object(
  // The ruleset name is checked by assertRulesetName in diffRevisions, for its stable code.
  { from: RefParam, to: RefParam, ruleset: Type.Optional(Type.String({ maxLength: 64, description: 'limit the diff to this ruleset' })) },
  { additionalProperties: false },
);
export type DiffQuery = Static<typeof DiffQuery>;

export const RollbackRequest = Type.Object({ branch: RefParam, to: RefParam }, { additionalProperties: false });
export type RollbackRequest = Static<typeof RollbackRequest>;

/** Most elements one request may add and delete, together. */
export const MAX_ELEMENTS_PER_CHANGE = SHARED_DEFAULTS.elements.maxPerChange;

const elementTarget = {
  name: Type.String({ pattern: RULESET_NAME_PATTERN, description: 'ruleset name (rulesets/NAME.json)' }),
  family: stringEnum(FAMILIES, { description: "the table's family (ip, ip6, inet, arp, bridge, netdev)" }),
  table: Type.String({ pattern: NFT_NAME_PATTERN, description: 'the table holding the set' }),
};
/** Path of POST /api/v1/rulesets/:name/sets/:family/:table/:set/elements. */
export const SetElementsParams = Type.Object({ ...elementTarget, set: Type.String({ pattern: NFT_NAME_PATTERN, description: "the set's name" }) });
export type SetElementsParams = Static<typeof SetElementsParams>;
/** Path of POST /api/v1/rulesets/:name/maps/:family/:table/:map/elements. */
export const MapElementsParams = Type.Object({ ...elementTarget, map: Type.String({ pattern: NFT_NAME_PATTERN, description: "the map's name" }) });
export type MapElementsParams = Static<typeof MapElementsParams>;

export const ElementsQuery = Type.Object(
  { branch: Type.Optional(Type.String({ minLength: 1, maxLength: REF_MAX_LENGTH, description: 'branch to change (default main)' })) },
  { additionalProperties: false },
);
export type ElementsQuery = Static<typeof ElementsQuery>;

/** The body of an element change (either list may be left out, not both). */
export const ElementsChange = Type.Object(
  {
    add: Type.Optional(
      Type.Array(Type.Unknown(), {
        maxItems: MAX_ELEMENTS_PER_CHANGE,
        description: 'elements to add, in libnftables JSON: "198.18.0.1", "198.18.0.0/24", {"elem": {"val": …, "timeout": SECONDS}}; a map element is [KEY, VALUE]',
      }),
    ),
    delete: Type.Optional(Type.Array(Type.Unknown(), { maxItems: MAX_ELEMENTS_PER_CHANGE, description: 'elements to delete, written the same way (a map element by its key)' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ElementsChange = Static<typeof ElementsChange>;

// ---- Answers ------------------------------------------------------------------------------

/** `GET /api/v1/refs/changes`: wait for the next ref move (a replica's notification of a push). */
export const RefChangesQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ maxLength: 64, description: 'the `version` of the last answer; absent: answer at once' })),
    wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: 'seconds to wait for a move when nothing moved since `since` (default 20)' })),
  },
  { additionalProperties: false },
);
export type RefChangesQuery = Static<typeof RefChangesQuery>;

export const RefChangesAnswer = Type.Object(
  { version: Type.String({ description: 'changes whenever a branch or tag of the repository moves (opaque; a restarted server answers a new one)' }) },
  { description: 'the repository\'s ref version, answered once it differs from `since` or the wait is over' },
);
export type RefChangesAnswer = Static<typeof RefChangesAnswer>;

export const HealthAnswer = Type.Object({ status: Type.Literal('ok') }, { description: 'the process answers' });
export type HealthAnswer = Static<typeof HealthAnswer>;

export const ReadyAnswer = Type.Object(
  {
    status: Type.Literal('ready'),
    refs: Type.Integer({ minimum: 0, description: 'refs in the repository' }),
    replica: Type.Optional(
      Type.Object(
        {
          primary: Type.String({ description: 'the primary this replica mirrors (--mirror-of), without credentials' }),
          primaryReachable: Type.Boolean({ description: 'the last poll of the primary was answered' }),
          syncedAt: Type.Optional(Type.String({ format: 'date-time', description: "when the mirror last held the primary's refs" })),
          lagSeconds: Type.Optional(Type.Number({ minimum: 0, description: 'seconds since syncedAt: how far behind the primary the mirror may be' })),
        },
        { description: 'on a replica: how its mirror follows the primary. Not part of readiness: a replica serves its mirror when the primary is away (that is what it is for), and agents never go back (ServerBehind)' },
      ),
    ),
  },
  { description: "the repository's refs can be read" },
);
export type ReadyAnswer = Static<typeof ReadyAnswer>;

/** Prometheus text exposition format 0.0.4. */
export const MetricsText = Type.String({ description: 'Prometheus text exposition format 0.0.4' });

export const RulesetList = Type.Object(
  { ref: Type.String(), commit, rulesets: Type.Array(Type.Object({ name: Type.String(), blob })) },
  { description: 'the rulesets at the ref, and the commit it resolved to' },
);
export type RulesetList = Static<typeof RulesetList>;

export const RulesetAnswer = Type.Object({ name: Type.String(), ref: Type.String(), commit, blob, ruleset: Ruleset }, { description: 'the ruleset, parsed' });
export type RulesetAnswer = Static<typeof RulesetAnswer>;

/** One ruleset's answer: parsed with its revision, or (raw=1) the stored file itself. */
export const RulesetOrFile = Type.Union([RulesetAnswer, described(Ruleset, 'raw=1: the stored file, byte for byte')], {
  description: 'the ruleset, parsed ({name, ref, commit, blob, ruleset}); with raw=1 the stored bytes of rulesets/NAME.json',
});

/** A commit that changed a ruleset. */
export const RulesetRevision = Type.Object({
  commit,
  author: Type.Object({ name: Type.String(), email: Type.String() }),
  date: Type.String({ description: 'author date, ISO 8601 with offset' }),
  message: Type.String({ description: 'the whole commit message, without the trailing newline' }),
});
export type RulesetRevision = Static<typeof RulesetRevision>;

export const RulesetRevisions = Type.Object(
  { name: Type.String(), ref: Type.String(), commit, revisions: Type.Array(RulesetRevision) },
  { description: 'the commits that changed rulesets/NAME.json, newest first' },
);
export type RulesetRevisions = Static<typeof RulesetRevisions>;

const side = Type.Object({ ref: Type.String(), commit });
/** The object-level diff between two revisions (server/git/revision-diff.ts). */
export const RevisionDiff = Type.Object(
  {
    from: side,
    to: side,
    rulesets: Type.Object({
      added: Type.Array(Type.String()),
      removed: Type.Array(Type.String()),
      changed: Type.Array(
        Type.Object({
          name: Type.String(),
          from: Type.Object({ blob }),
          to: Type.Object({ blob }),
          identical: Type.Boolean({ description: 'the bytes differ but the normalised content does not (formatting, order)' }),
          diff: RulesetDiff,
        }),
        { description: 'rulesets whose bytes differ' },
      ),
    }),
  },
  { description: 'rulesets added and removed, and the object-level diff of each changed one' },
);
export type RevisionDiff = Static<typeof RevisionDiff>;

/** What the server keeps about an agent (server/agents/agent-registry.ts). */
export const AgentRecord = Type.Object({
  name: Type.String(),
  status: Type.Optional(described(AgentStatus, "the agent's latest report, as sent (absent until it reports)")),
  address: Type.String({ description: "remote address of the agent's latest connection" }),
  connected: Type.Boolean(),
  lastSeen: Type.String({ description: 'ISO time of the last frame received from the agent' }),
  via: Type.Optional(Type.String({ description: 'the replica (server --mirror-of) the agent reports through, by its name; absent for an agent of this server' })),
});
export type AgentRecord = Static<typeof AgentRecord>;

/** `POST /api/v1/agents/reports`: the latest reports of a replica's agents, forwarded to the primary. */
export const ForwardedReports = Type.Object(
  {
    via: Type.String({ minLength: 1, maxLength: 255, description: 'the replica forwarding them (its wire address)' }),
    reports: Type.Array(
      Type.Object(
        {
          status: AgentStatus,
          address: Type.String({ maxLength: 100, description: "the agent's address as the replica saw it" }),
          connected: Type.Boolean({ description: 'whether the agent is connected to the replica' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: false, description: 'agent reports a replica forwards to its primary' },
);
export type ForwardedReports = Static<typeof ForwardedReports>;

export const ForwardedReportsAnswer = Type.Object({ kept: Type.Integer({ minimum: 0, description: 'reports kept (a full registry keeps none of new agents)' }) });
export type ForwardedReportsAnswer = Static<typeof ForwardedReportsAnswer>;

/** `DELETE /api/v1/agents/:name`. */
export const ForgottenAgent = Type.Object({ forgotten: Type.String({ description: 'the agent forgotten' }) });
export type ForgottenAgent = Static<typeof ForgottenAgent>;

export const AgentList = Type.Object({ agents: Type.Array(AgentRecord) }, { description: 'every agent the server keeps, sorted by name' });
export type AgentList = Static<typeof AgentList>;

/** `:name` of /api/v1/rollouts/:name: a branch, or `tags:PATTERN` (URL-encoded in the path). */
export const RolloutNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 300, description: 'the branch, or tags:PATTERN (URL-encoded)' }) });
export type RolloutNameParams = Static<typeof RolloutNameParams>;

const ServedRevision = Type.Object({ commit, tag: Type.Optional(Type.String({ description: 'for a tracked tag pattern: the tag' })) });
const msSinceEpoch = (description: string) => Type.Number({ description: `${description} (ms since the epoch)` });

/** A staged rollout (shared/rollout/rollout-state.ts, server/rollout/rollout-controller.ts). */
export const RolloutAnswer = Type.Object(
  {
    name: Type.String({ description: 'the branch, or tags:PATTERN' }),
    phase: stringEnum(['running', 'halted', 'aborted', 'complete'] as const),
    previous: described(ServedRevision, 'the last revision whose rollout completed: what the waves not yet served get'),
    target: described(ServedRevision, 'the new revision being rolled out'),
    hold: Type.Integer({ description: 'seconds each agent must stay Ready after Applied' }),
    waves: Type.Array(
      Type.Object({
        agents: Type.Array(Type.String(), { description: 'agent names, fixed at the start' }),
        patterns: Type.Optional(Type.Array(Type.String(), { description: 'the wave\'s globs (agents that appear later join by name)' })),
        startedAt: Type.Optional(msSinceEpoch('when the wave was served the target')),
        confirmedAt: Type.Optional(msSinceEpoch('when every agent of the wave had held the target (or resume passed it)')),
      }),
    ),
    wave: Type.Integer({ description: 'index of the last wave served the target (the number of waves once complete)' }),
    startedAt: msSinceEpoch('start'),
    endedAt: Type.Optional(msSinceEpoch('completion or abort')),
    appliedAt: Type.Record(Type.String(), Type.Number(), { description: 'agents of the current wave seen Applied on the target, and since when (ms since the epoch)' }),
    haltedBy: Type.Optional(
      Type.Object({
        agent: Type.String(),
        reason: Type.String({ description: "the Ready condition's reason, e.g. RolledBack" }),
        message: Type.Optional(Type.String()),
        at: msSinceEpoch('when'),
      }),
    ),
    beyondHoldMs: Type.Number({ description: 'time from start to end (or now) beyond one hold per wave' }),
  },
  { description: 'a staged rollout' },
);
export type RolloutAnswer = Static<typeof RolloutAnswer>;

export const RolloutList = Type.Object({ rollouts: Type.Array(RolloutAnswer) }, { description: 'every rollout, by name' });
export type RolloutList = Static<typeof RolloutList>;

/** What rollbackBranch did (server/git/rollback.ts). */
export const RollbackResult = Type.Object({
  branch: Type.String(),
  commit: Type.String({ description: 'the new commit' }),
  previous: Type.String({ description: "the branch's commit it was built on (its parent)" }),
  target: Type.String({ description: 'the commit whose rulesets/ and nft-sync.yaml were restored' }),
  attempts: Type.Integer({ minimum: 1 }),
});
export type RollbackResult = Static<typeof RollbackResult>;

export const RollbackAnswer = Type.Object({ ...RollbackResult.properties, owner: Type.String({ description: "the token's owner (`local` without a token list)" }) }, { description: 'the rollback commit, made' });
export type RollbackAnswer = Static<typeof RollbackAnswer>;

/** What an element change did: 201 with the new commit, or 200 with the branch's when nothing changed. */
export const ElementsAnswer = Type.Object(
  {
    commit: Type.String({ description: "the new commit, or the branch's commit when nothing changed" }),
    branch: Type.String(),
    added: Type.Integer({ minimum: 0, description: 'elements really added (or replaced: another timeout or map value)' }),
    deleted: Type.Integer({ minimum: 0, description: 'elements really deleted' }),
    kind: stringEnum(['set', 'map'] as const, { description: 'what the name found (sets and maps share one name space)' }),
    previous: Type.String({ description: "the branch's commit the change was built on" }),
    folded: Type.Optional(Type.Integer({ minimum: 1, description: 'present when this commit also folded the element change files (this one included) into rulesets/NAME.json: how many' })),
  },
  { description: 'the element change' },
);
export type ElementsAnswer = Static<typeof ElementsAnswer>;

/** The answer of a fold of a ruleset's element change files (`POST …/elements/fold`). */
export const FoldAnswer = Type.Object(
  {
    commit: Type.String({ description: "the new commit, or the branch's commit when there was nothing to fold" }),
    branch: Type.String(),
    folded: Type.Integer({ minimum: 0, description: 'element change files folded into rulesets/NAME.json (0: none, no commit)' }),
    previous: Type.String({ description: "the branch's commit the fold was built on" }),
  },
  { description: 'the fold' },
);
export type FoldAnswer = Static<typeof FoldAnswer>;

/** The OpenAPI document itself (its own schema is the OpenAPI 3.1 specification's). */
export const OpenApiDocument = Type.Object(
  { openapi: Type.String(), info: Type.Record(Type.String(), Type.Unknown()), paths: Type.Record(Type.String(), Type.Unknown()) },
  { description: 'this document (OpenAPI 3.1)' },
);
