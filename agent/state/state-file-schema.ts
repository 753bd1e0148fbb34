/**
 * The schema of the agent's state.json (agent/state/state-store.ts says what each field is for),
 * declared once with TypeBox; AgentState and the other types are derived from it.
 * scripts/generate-validators.ts compiles StateFile at build time (`npm run build`) into
 * state-file-validator.ts, the check loadState runs, and the test of that file fails when it is
 * stale: the agent loads neither TypeBox nor ajv to read its state.
 */
import { Type, type Static } from '@sinclair/typebox';
import { OBJECT_ID_PATTERN } from '../../shared/ruleset/names.js';
import { TableRef } from '../../shared/ruleset/ruleset-types.js';

/** The version of state.json's format (its `version` field). */
const STATE_VERSION = 1 as const;

/** The signed release in force (release-record.ts); part of state.json. */
export const ReleaseRecord = Type.Object({
  ref: Type.String({ description: 'the ref followed, or `track:PATTERN` for a tracked tag pattern' }),
  tag: Type.String(),
  tagId: Type.String(),
  taggerTime: Type.Integer({ description: 'tagger time stamp, seconds since the epoch' }),
});
export type ReleaseRecord = Static<typeof ReleaseRecord>;

const oid = (description?: string) => Type.String({ pattern: OBJECT_ID_PATTERN, ...(description ? { description } : {}) });
/** Tables a revision manages (an apply's `previouslyManaged`). */
const managedTables = Type.Array(TableRef);

/** A revision the agent tried and could not put in force; not retried until it changes. */
export const FailedAttempt = Type.Object({
  commit: Type.String(),
  blob: Type.String(),
  code: Type.String(),
  message: Type.String(),
  // Optional when read (older files may lack it); the agent always writes it.
  at: Type.Optional(Type.String()),
});
export type FailedAttempt = Static<typeof FailedAttempt>;

/** What the state records about a revision before nft applies it (see state-store.ts). */
export const PendingRevision = Type.Object({ commit: oid(), blob: oid(), ruleset: Type.String(), managedTables, startedAt: Type.String() });
export type PendingRevision = Static<typeof PendingRevision>;

/** The agent's state: state.json without its `version`. */
export const AgentState = Type.Object({
  ref: Type.String(),
  ruleset: Type.String({ description: 'ruleset name (`rulesets/NAME.json`)' }),
  commit: Type.Optional(oid('the revision in force; absent until a first apply succeeded')),
  blob: Type.Optional(oid()),
  appliedAt: Type.Optional(Type.String()),
  tag: Type.Optional(Type.String({ description: 'under --track-tags: the tag of the revision in force (never gone below; release-guard.ts)' })),
  release: Type.Optional(ReleaseRecord),
  managedTables,
  pending: Type.Optional(PendingRevision),
  interrupted: Type.Optional(
    Type.Object({ blob: Type.String(), count: Type.Integer({ minimum: 0 }) }, { description: 'a revision whose confirm window was cut short by the agent stopping, and how often' }),
  ),
  lastFailed: Type.Optional(FailedAttempt),
});
export type AgentState = Static<typeof AgentState>;

/** state.json: the state and the format's version. */
export const StateFile = Type.Object({ version: Type.Unsafe<typeof STATE_VERSION>({ const: STATE_VERSION }), ...AgentState.properties });
export type StateFile = Static<typeof StateFile>;
