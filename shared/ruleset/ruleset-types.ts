/**
 * The shapes of a ruleset file: libnftables JSON in LIST form, exactly what
 * `nft -j list ruleset` prints (`{"nftables":[{"metainfo":…},{"table":…},{"chain":…},…]}`),
 * not the command form (`{"add":{…}}`) that nft also reads. ruleset-schema.ts validates them.
 *
 * Only what nft-sync itself looks at is typed; everything else (expressions, set element
 * shapes, object parameters) is carried through untouched as `unknown`.
 *
 * Each shape is declared once, as a TypeBox schema; its TypeScript type is derived from it
 * (`Static<typeof X>`), and ruleset-schema.ts compiles the whole (`Ruleset`) into the validator.
 */
import { Type, type ObjectOptions, type Static, type TUnsafe } from '@sinclair/typebox';

/** Address families nft knows. */
export const FAMILIES = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'] as const;
export type Family = (typeof FAMILIES)[number];

/** Named stateful objects: declared inside a table, with a name, referenced by rules. */
export const NAMED_OBJECT_KINDS = [
  'counter', 'quota', 'ct helper', 'limit', 'secmark', 'synproxy', 'ct timeout', 'ct expectation',
] as const;
export type NamedObjectKind = (typeof NAMED_OBJECT_KINDS)[number];

/** Every key an item of `nftables` may have (exactly one per item). */
export const ITEM_KINDS = ['metainfo', 'table', 'chain', 'rule', 'set', 'map', 'element', 'flowtable', ...NAMED_OBJECT_KINDS] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/** nft's names: 1 to 255 bytes (the kernel's 256 with the NUL), no control characters, no `/`. */
export const NFT_NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f/]{1,255}$';

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

/** The kind of an item (its only key). Items come from a validated ruleset, so one key exists. */
export function itemKind(item: RulesetItem): ItemKind {
  for (const k in item) return k as ItemKind;
  throw new TypeError('empty ruleset item');
}

/** The body of an item (the value under its only key). */
export function itemBody(item: RulesetItem): Record<string, unknown> {
  for (const k in item) return (item as Record<string, Record<string, unknown>>)[k]!;
  throw new TypeError('empty ruleset item');
}

/** The `family name` string of a table, as nft prints it (`inet filter`). */
export function tableLabel(t: { family: string; name: string }): string {
  return `${t.family} ${t.name}`;
}
