/**
 * The repository's `nft-sync.yaml`: which ruleset each agent gets. Pure: parses text, never
 * reads files (the server reads the file at a commit and hands the text here).
 *
 * Format (version 1):
 *
 *   # optional; the only version so far. A future format bumps it so old servers refuse it.
 *   version: 1
 *   # Which ruleset each agent gets: the first entry whose pattern matches the agent's name
 *   # wins; an agent that matches none gets "default" (rulesets/default.json).
 *   agents:
 *     - match: "web-*"          # glob over the whole agent name: * ? and [a-z] / [!0-9] classes
 *       ruleset: web            # rulesets/web.json
 *     - match: "db-[0-9]*"
 *       ruleset: database
 *
 *   # Optional, per ruleset: agents that may publish their live changes to it (`agent
 *   # --publish`), as globs over the agent name. Without an entry nobody may.
 *   rulesets:
 *     web:
 *       publishers: ["web-*"]
 *   # optional: staged rollouts (server/rollout/). A new revision of the branch (or, under
 *   # `tags`, a new highest tag of a pattern agents track) goes to the waves in order.
 *   rollouts:
 *     main:                     # a branch name, or "tags" for --track-tags agents
 *       hold: 30                # seconds each agent must stay Ready after Applied (default 0)
 *       waves:                  # 1 to ROLLOUT_MAX_WAVES; each names agents OR a percent
 *         - agents: ["canary-*"]   # globs over agent names, as in `match:` (ROLLOUT_MAX_PATTERN_CHARS in all)
 *         - percent: 25            # cumulative share of the agents no glob wave names
 *         - percent: 100
 *
 * An empty file, an empty document or no `agents` key all mean "everyone gets default".
 * Unknown keys are refused rather than ignored: a typo such as `rulset:` would otherwise send
 * agents to `default` without anyone noticing. Globs: see agent-glob.ts (no regex, bounded time).
 * An agent's `--ruleset NAME` overrides this file; that choice is made by the caller.
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { compileAgentGlob, matchAgentGlob, AGENT_GLOB_MAX_LENGTH } from './agent-glob.js';
import { NftSyncError } from '../errors.js';
import { assertRulesetName, RULESET_NAME_PATTERN } from '../ruleset/names.js';
import { SHARED_DEFAULTS } from '../defaults.js';

/** Path of the file inside the repository. */
export const REPO_CONFIG_PATH = 'nft-sync.yaml';
/** The ruleset an agent gets when no entry matches. */
export const DEFAULT_RULESET = 'default';
/** Largest `nft-sync.yaml` accepted, in bytes; it maps names, it never needs to be big. */
export const REPO_CONFIG_MAX_BYTES = SHARED_DEFAULTS.repoConfig.maxBytes;
/** Most `agents` entries accepted. */
export const REPO_CONFIG_MAX_ENTRIES = SHARED_DEFAULTS.repoConfig.maxEntries;

/** A schema that also admits null (YAML's empty value: `agents:` with nothing after it). */
function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
}

/** One `agents` entry: which ruleset the agents whose name matches get. */
export const AgentMapping = Type.Object(
  {
    match: Type.String({ minLength: 1, maxLength: AGENT_GLOB_MAX_LENGTH, description: 'glob over the agent name (agent-glob.ts)' }),
    ruleset: Type.String({ pattern: RULESET_NAME_PATTERN, description: 'ruleset name: rulesets/NAME.json' }),
  },
  { additionalProperties: false },
);
export type AgentMapping = Static<typeof AgentMapping>;

/** Settings of one ruleset: who may publish live changes to it (agent --publish). */
export const RulesetSettings = Type.Object(
  {
    publishers: Type.Optional(nullable(Type.Array(Type.String({ minLength: 1, maxLength: AGENT_GLOB_MAX_LENGTH }), { maxItems: 1000, description: 'globs over agent names (agent-glob.ts)' }))),
  },
  { additionalProperties: false },
);
export type RulesetSettings = Static<typeof RulesetSettings>;

/** The `rollouts` key that applies to agents following a tracked tag pattern. */
export const ROLLOUT_TAGS_KEY = 'tags';
/** Most waves in one rollout, and most rollouts in one file. */
export const ROLLOUT_MAX_WAVES = 20;
export const ROLLOUT_MAX_ROLLOUTS = 100;
/**
 * Most characters of glob patterns in one rollout, all its waves together. The server matches
 * every agent against them on each look at the reports and on fetches (a long glob against a long
 * name costs their product), so 19 waves of 100 globs of 120 characters held it 80 s a tick with
 * 20 agents. Real rollouts name a few patterns such as `canary-*`.
 */
export const ROLLOUT_MAX_PATTERN_CHARS = 1024;
/** Longest hold accepted, in seconds (one day). */
export const ROLLOUT_MAX_HOLD = 86_400;

/** One wave of a rollout: agents by name pattern, or a cumulative percent of the others (exactly one; checked after the schema). */
export const RolloutWave = Type.Object(
  {
    agents: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: AGENT_GLOB_MAX_LENGTH }), { minItems: 1, maxItems: 100, description: 'globs over agent names (agent-glob.ts): every known agent matching one' })),
    percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'this share of the agents no agents wave names, cumulative over the percent waves' })),
  },
  { additionalProperties: false },
);
export type RolloutWave = Static<typeof RolloutWave>;

/** The rollout of one branch (or of tracked tags: key `tags`). */
export const RolloutSpec = Type.Object(
  {
    hold: Type.Optional(Type.Integer({ minimum: 0, maximum: ROLLOUT_MAX_HOLD, description: 'seconds an agent must stay Ready after Applied before its wave counts it (default 0)' })),
    waves: Type.Array(RolloutWave, { minItems: 1, maxItems: ROLLOUT_MAX_WAVES }),
  },
  { additionalProperties: false },
);
export type RolloutSpec = Static<typeof RolloutSpec>;

/** JSON Schema of `nft-sync.yaml` (after YAML parsing); the RepoConfig type is derived from it. */
export const REPO_CONFIG_SCHEMA = Type.Object(
  {
    version: Type.Optional(nullable(Type.Integer({ minimum: 1, maximum: 1 }))),
    agents: Type.Optional(nullable(Type.Array(AgentMapping, { maxItems: REPO_CONFIG_MAX_ENTRIES, description: 'ordered: the first matching entry wins' }))),
    rulesets: Type.Optional(nullable(Type.Record(Type.String({ pattern: RULESET_NAME_PATTERN }), RulesetSettings, { maxProperties: REPO_CONFIG_MAX_ENTRIES, additionalProperties: false, description: 'per ruleset name' }))),
    rollouts: Type.Optional(
      nullable(
        Type.Record(Type.String(), RolloutSpec, {
          maxProperties: ROLLOUT_MAX_ROLLOUTS,
          propertyNames: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*$' },
          description: 'staged rollouts by branch name, or tags for agents tracking a tag pattern',
        }),
      ),
    ),
  },
  { $id: 'https://nft-sync.dev/schemas/repo-config.json', additionalProperties: false },
);
export type RepoConfig = Static<typeof REPO_CONFIG_SCHEMA>;

const validate = new Ajv({ allErrors: true, strict: true }).compile(REPO_CONFIG_SCHEMA);

/** `/agents/0/ruleset` -> `agents[0].ruleset`: the way a person reads a YAML path. */
function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

function invalid(path: string, why: string, cause?: unknown): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_REPO_CONFIG_INVALID', `${REPO_CONFIG_PATH}: ${path}: ${why}`, {
    data: { file: REPO_CONFIG_PATH, path },
    cause,
  });
}

function rank(e: ErrorObject): number {
  return e.keyword === 'additionalProperties' ? 0 : e.keyword === 'required' ? 2 : 1;
}

function schemaError(e: ErrorObject): NftSyncError {
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    if (e.instancePath === '/rulesets') return invalid(fieldPath(e.instancePath, key), "is not a plain ruleset name: use letters, digits, '_', '-' and '.', as in rulesets/NAME.json");
    if (e.instancePath.startsWith('/rulesets/')) return invalid(fieldPath(e.instancePath, key), 'unknown key: a ruleset entry has only publishers');
    if (e.instancePath.startsWith('/rollouts/')) {
      return invalid(fieldPath(e.instancePath, key), 'unknown key: a rollout takes hold and waves, a wave agents or percent');
    }
    return invalid(fieldPath(e.instancePath, key), 'unknown key: expected only version, agents (entries: match, ruleset), rulesets (entries: publishers) and rollouts (entries: hold, waves)');
  }
  if (e.keyword === 'required') {
    const key = String((e.params as { missingProperty: string }).missingProperty);
    if (e.instancePath.startsWith('/rollouts/')) return invalid(fieldPath(e.instancePath, key), 'is missing: every rollout needs a waves list');
    return invalid(fieldPath(e.instancePath, key), 'is missing: every agents entry needs match and ruleset');
  }
  if (e.instancePath === '/rulesets' && (e.keyword === 'pattern' || e.keyword === 'propertyNames')) {
    return invalid('rulesets', "names a ruleset that is not a plain ruleset name: use letters, digits, '_', '-' and '.', as in rulesets/NAME.json");
  }
  if (e.instancePath === '/rollouts' && (e.keyword === 'propertyNames' || e.propertyName !== undefined || e.keyword === 'pattern')) {
    const name = String(e.propertyName ?? (e.params as { propertyName?: string }).propertyName ?? '');
    return invalid(fieldPath('/rollouts', name), 'is not a branch name: use the branch as pushed (main, release/1) or "tags"');
  }
  if (e.keyword === 'pattern') {
    return invalid(fieldPath(e.instancePath), "is not a plain ruleset name: use letters, digits, '_', '-' and '.', as in rulesets/NAME.json");
  }
  if (e.instancePath === '/version') return invalid('version', 'must be 1, the only format version so far');
  return invalid(fieldPath(e.instancePath), e.message ?? 'is invalid');
}

/**
 * Parse and validate the text of `nft-sync.yaml`. An empty document gives `{}`.
 * The result is deeply frozen: it is shared by every caller that reads the same commit.
 *
 * Throws NftSyncError NFTSYNC_ERR_REPO_CONFIG_INVALID with `data.path` naming the bad field
 * (`agents[2].ruleset`) or, for a YAML syntax error, `data.line` and `data.column`; also when
 * the text is larger than REPO_CONFIG_MAX_BYTES or uses too many YAML aliases.
 */
export function parseRepoConfig(text: string): RepoConfig {
  if (Buffer.byteLength(text, 'utf8') > REPO_CONFIG_MAX_BYTES) {
    throw invalid('(file)', `is larger than ${REPO_CONFIG_MAX_BYTES} bytes`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, version: '1.2' });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const pos = yamlError.linePos?.[0];
    const err = invalid(pos ? `line ${pos.line}, column ${pos.col}` : '(file)', `not valid YAML: ${yamlError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, yamlError);
    if (pos) Object.assign(err.data as object, { line: pos.line, column: pos.col });
    throw err;
  }
  let value: unknown;
  try {
    // maxAliasCount bounds "billion laughs" alias expansion.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw invalid('(file)', `could not be read: ${(cause as Error).message}`, cause);
  }
  if (value === null || value === undefined) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('(top level)', 'must be a mapping with an agents list');
  if (!validate(value)) {
    // An unknown key is reported before a missing one: `rulset:` is a typo of `ruleset:`.
    const errors = [...(validate.errors ?? [])].sort((a, b) => rank(a) - rank(b));
    throw schemaError(errors[0] as ErrorObject);
  }
  const config = value as RepoConfig;
  (config.agents ?? []).forEach((entry, i) => {
    try {
      assertRulesetName(entry.ruleset);
    } catch (cause) {
      throw invalid(`agents[${i}].ruleset`, (cause as Error).message, cause);
    }
    try {
      compileAgentGlob(entry.match);
    } catch (cause) {
      throw invalid(`agents[${i}].match`, (cause as Error).message, cause);
    }
  });
  for (const [name, settings] of Object.entries(config.rulesets ?? {})) {
    (settings.publishers ?? []).forEach((glob, i) => {
      try {
        compileAgentGlob(glob);
      } catch (cause) {
        throw invalid(`rulesets.${name}.publishers[${i}]`, (cause as Error).message, cause);
      }
    });
  }
  for (const [branch, spec] of Object.entries(config.rollouts ?? {})) checkRollout(branch, spec);
  return deepFreeze(config);
}

/**
 * Whether `agent` may publish live changes to ruleset `name`: one of the ruleset's `publishers`
 * globs matches its whole name. No entry (or no file): nobody may. Pure; expects a config
 * returned by parseRepoConfig.
 */
export function mayPublish(config: RepoConfig | undefined, name: string, agent: string): boolean {
  const globs = Object.hasOwn(config?.rulesets ?? {}, name) ? (config!.rulesets![name]!.publishers ?? []) : [];
  return globs.some((g) => matchAgentGlob(compileAgentGlob(g), agent));
}

/** What the schema cannot say of a rollout: patterns within ROLLOUT_MAX_PATTERN_CHARS, one kind per wave, valid globs, percents that grow. */
function checkRollout(branch: string, spec: RolloutSpec): void {
  const chars = spec.waves.reduce((n, w) => n + (w.agents ?? []).reduce((m, p) => m + p.length, 0), 0);
  if (chars > ROLLOUT_MAX_PATTERN_CHARS) {
    throw invalid(`rollouts.${branch}`, `its wave patterns have ${chars} characters in all, more than ${ROLLOUT_MAX_PATTERN_CHARS}: name waves with a few short patterns (canary-*), or use percent waves`);
  }
  let lastPercent = 0;
  spec.waves.forEach((wave, i) => {
    const at = `rollouts.${branch}.waves[${i}]`;
    if ((wave.agents === undefined) === (wave.percent === undefined)) {
      throw invalid(at, 'needs exactly one of agents (a list of name patterns) or percent (1-100)');
    }
    (wave.agents ?? []).forEach((pattern, j) => {
      try {
        compileAgentGlob(pattern);
      } catch (cause) {
        throw invalid(`${at}.agents[${j}]`, (cause as Error).message, cause);
      }
    });
    if (wave.percent !== undefined) {
      if (wave.percent <= lastPercent) throw invalid(`${at}.percent`, `must be more than the previous percent wave's ${lastPercent}: percents are cumulative`);
      lastPercent = wave.percent;
    }
  });
}


function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/**
 * The ruleset for `agent`: the `ruleset` of the first entry whose `match` matches the whole
 * agent name, else DEFAULT_RULESET. `config` undefined (no `nft-sync.yaml`) means default.
 * Pure; expects a config returned by parseRepoConfig (patterns already checked), so it does not
 * throw. Agent names are checked by the caller (isAgentName); any string is matched safely.
 */
export function rulesetForAgent(config: RepoConfig | undefined, agent: string): string {
  for (const entry of config?.agents ?? []) {
    if (matchAgentGlob(compileAgentGlob(entry.match), agent)) return entry.ruleset;
  }
  return DEFAULT_RULESET;
}

/**
 * Every ruleset name the config can hand out, `default` included (it is the fallback even when
 * every agent matches some entry, since new agents may not), sorted and without duplicates.
 * The push validator checks that each exists as `rulesets/NAME.json`.
 */
export function rulesetsNamedBy(config: RepoConfig | undefined): string[] {
  const names = new Set<string>([DEFAULT_RULESET]);
  for (const entry of config?.agents ?? []) names.add(entry.ruleset);
  return [...names].sort();
}
