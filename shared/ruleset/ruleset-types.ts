/**
 * TypeScript shapes of a ruleset file: libnftables JSON in LIST form, exactly what
 * `nft -j list ruleset` prints (`{"nftables":[{"metainfo":…},{"table":…},{"chain":…},…]}`),
 * not the command form (`{"add":{…}}`) that nft also reads. ruleset-schema.ts validates them.
 *
 * Only what nft-sync itself looks at is typed; everything else (expressions, set element
 * shapes, object parameters) is carried through untouched as `unknown`.
 */

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

/** A table and its identity; what nft-sync "manages" (replaces wholesale) on a host. */
export interface TableRef {
  family: Family;
  name: string;
}

export interface TableObject extends TableRef {
  handle?: number;
  flags?: string[];
  comment?: string;
}

export interface ChainObject {
  family: Family;
  table: string;
  name: string;
  handle?: number;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: 'accept' | 'drop';
  dev?: string | string[];
  comment?: string;
}

export interface RuleObject {
  family: Family;
  table: string;
  chain: string;
  handle?: number;
  /** Statements and expressions, kept as nft wrote them (not modelled). */
  expr: Record<string, unknown>[];
  comment?: string;
}

/** A set or a map (a map has `map`, the data type). */
export interface SetObject {
  family: Family;
  table: string;
  name: string;
  handle?: number;
  type: string | string[];
  map?: string | string[];
  flags?: string[];
  elem?: unknown[];
  [key: string]: unknown;
}

/** Elements added to a declared set (command-style, accepted for hand-written files). */
export interface ElementObject {
  family: Family;
  table: string;
  name: string;
  elem: unknown[];
}

/** Named objects and flowtables: identity plus kind-specific parameters left to nft. */
export interface NamedObject {
  family: Family;
  table: string;
  name: string;
  handle?: number;
  [key: string]: unknown;
}

export interface Metainfo {
  version?: string;
  release_name?: string;
  json_schema_version?: number;
  [key: string]: unknown;
}

type NamedItem = { [K in NamedObjectKind]: { [P in K]: NamedObject } }[NamedObjectKind];

/** One element of the `nftables` array. */
export type RulesetItem =
  | { metainfo: Metainfo }
  | { table: TableObject }
  | { chain: ChainObject }
  | { rule: RuleObject }
  | { set: SetObject }
  | { map: SetObject }
  | { element: ElementObject }
  | { flowtable: NamedObject }
  | NamedItem;

/** A whole ruleset file, as parseRuleset returns it. */
export interface Ruleset {
  nftables: RulesetItem[];
}

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
