/**
 * The shapes of a ruleset file: libnftables JSON in LIST form, exactly what
 * `nft -j list ruleset` prints (`{"nftables":[{"metainfo":…},{"table":…},{"chain":…},…]}`),
 * not the command form (`{"add":{…}}`) that nft also reads. ruleset-schema.ts validates them.
 *
 * Only what nft-sync itself looks at is typed; everything else (expressions, set element
 * shapes, object parameters) is carried through untouched as `unknown`.
 *
 * Each shape is declared once, as a TypeBox schema; its TypeScript type is derived from it
 * (`Static<typeof X>`), and scripts/generate-validators.ts compiles the whole (`RULESET_SCHEMA`)
 * at build time into ruleset-validator.ts, the check ruleset-schema.ts runs. This module is for
 * the build, the server and the types: nothing an agent runs imports its values (TypeBox would
 * cost an idle agent 6 to 12 MB); the item kinds and accessors are in ruleset-items.ts.
 */
import { Type, type ObjectOptions, type Static, type TUnsafe } from '@sinclair/typebox';
import { FAMILIES, NAMED_OBJECT_KINDS, NFT_NAME_PATTERN, type NamedObjectKind } from './ruleset-items.js';

/** A string that must be one of `values` (an `enum`, so errors list the allowed values). */
function oneOf<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ enum: [...values] });
}
/** An object whose contents nft-sync does not model (nft judges them). */
function anyObject(options: ObjectOptions = {}) {
  return Type.Record(Type.String(), Type.Unknown(), options);
}

const name = Type.String({ pattern: NFT_NAME_PATTERN });
const family = oneOf(FAMILIES);
const handle = Type.Optional(Type.Integer({ minimum: 0 }));
const comment = Type.Optional(Type.String({ maxLength: 128 }));
const stringOrStrings = Type.Union([Type.String(), Type.Array(Type.String())]);
const closed = { additionalProperties: false } as const;

/** A table and its identity; what nft-sync "manages" (replaces wholesale) on a host. */
export const TableRef = Type.Object({ family, name: Type.String() });
export type TableRef = Static<typeof TableRef>;

export const TableObject = Type.Object({ family, name, handle, flags: Type.Optional(stringOrStrings), comment }, closed);
export type TableObject = Static<typeof TableObject>;

export const ChainObject = Type.Object(
  {
    family, table: name, name, handle, comment,
    type: Type.Optional(oneOf(['filter', 'nat', 'route'] as const)),
    hook: Type.Optional(Type.String()),
    prio: Type.Optional(Type.Integer()),
    policy: Type.Optional(oneOf(['accept', 'drop'] as const)),
    dev: Type.Optional(stringOrStrings),
  },
  closed,
);
export type ChainObject = Static<typeof ChainObject>;

export const RuleObject = Type.Object(
  {
    family, table: name, chain: name, handle, comment,
    /** Statements and expressions, kept as nft wrote them (not modelled). */
    expr: Type.Array(anyObject({ minProperties: 1 })),
  },
  closed,
);
export type RuleObject = Static<typeof RuleObject>;

const setProperties = {
  family, table: name, name, handle, comment,
  type: stringOrStrings,
  map: Type.Optional(stringOrStrings),
  flags: Type.Optional(stringOrStrings),
  policy: Type.Optional(oneOf(['performance', 'memory'] as const)),
  elem: Type.Optional(Type.Array(Type.Unknown())),
  timeout: Type.Optional(Type.Integer({ minimum: 0 })),
  'gc-interval': Type.Optional(Type.Integer({ minimum: 0 })),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  stmt: Type.Optional(Type.Array(anyObject())),
  'auto-merge': Type.Optional(Type.Boolean()),
};
/** A set (or a map: a set with `map`, the data type). */
export const SetObject = Type.Object(setProperties, closed);
export type SetObject = Static<typeof SetObject>;
/** A map: a set whose `map` (the data type) is required. */
export const MapObject = Type.Object({ ...setProperties, map: stringOrStrings }, closed);
export type MapObject = Static<typeof MapObject>;

/** Elements added to a declared set (command-style, accepted for hand-written files). */
export const ElementObject = Type.Object({ family, table: name, name, elem: Type.Array(Type.Unknown()) }, closed);
export type ElementObject = Static<typeof ElementObject>;

/** Named objects and flowtables: identity plus kind-specific parameters left to nft (open). */
export const NamedObject = Type.Object({ family, table: name, name, handle }, { additionalProperties: true });
export type NamedObject = Static<typeof NamedObject> & { [parameter: string]: unknown };

/** `metainfo`: what nft says about itself (version, json_schema_version); not checked. */
export const Metainfo = anyObject();
export type Metainfo = Static<typeof Metainfo>;

/** The schema of each kind of item: an item of `nftables` has exactly one of these keys. */
export const ITEM_SCHEMAS = {
  metainfo: Metainfo,
  table: TableObject,
  chain: ChainObject,
  rule: RuleObject,
  set: SetObject,
  map: MapObject,
  element: ElementObject,
  flowtable: NamedObject,
  ...(Object.fromEntries(NAMED_OBJECT_KINDS.map((k) => [k, NamedObject])) as { [K in NamedObjectKind]: typeof NamedObject }),
};
type ItemSchemas = typeof ITEM_SCHEMAS;

/** One element of the `nftables` array: an object with exactly one of ITEM_SCHEMAS's keys. */
export type RulesetItem = { [K in keyof ItemSchemas]: { [P in K]: K extends NamedObjectKind | 'flowtable' ? NamedObject : Static<ItemSchemas[P]> } }[keyof ItemSchemas];
/**
 * Its schema: one object whose keys are all optional, with exactly one present. (A union of
 * one-key objects would say the same, but its errors would name every alternative; this one
 * names the unknown key or the field at fault.)
 */
export const RulesetItem = Type.Unsafe<RulesetItem>(Type.Partial(Type.Object(ITEM_SCHEMAS), { ...closed, minProperties: 1, maxProperties: 1 }));

/** A whole ruleset file, as parseRuleset returns it. */
export const Ruleset = Type.Object({ nftables: Type.Array(RulesetItem) }, closed);
export type Ruleset = Static<typeof Ruleset>;

/**
 * The JSON Schema (draft-07) of a ruleset file: `Ruleset`, with a title. scripts/generate-validators.ts
 * compiles it at build time into ruleset-validator.ts, the check parseRuleset runs.
 */
export const RULESET_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://nft-sync.invalid/schemas/ruleset.json',
  title: 'nft-sync ruleset (libnftables JSON, list form)',
  ...Ruleset,
} as const;
