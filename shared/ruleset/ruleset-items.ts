/**
 * The kinds of item a ruleset file holds and the accessors of an item (its only key, its body):
 * plain values, free of the TypeBox schemas in ruleset-types.ts, so that what the agent runs
 * loads no schema library. The accessors take any object: a RulesetItem (ruleset-types.ts),
 * whose type cannot be named here without an import cycle (the schemas are built from these
 * lists).
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

/** nft's names: 1 to 255 bytes (the kernel's 256 with the NUL), no control characters, no `/`. */
export const NFT_NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f/]{1,255}$';

/** The kind of an item (its only key). Items come from a validated ruleset, so one key exists. */
export function itemKind(item: object): ItemKind {
  for (const k in item) return k as ItemKind;
  throw new TypeError('empty ruleset item');
}

/** The body of an item (the value under its only key). */
export function itemBody(item: object): Record<string, unknown> {
  for (const k in item) return (item as Record<string, Record<string, unknown>>)[k]!;
  throw new TypeError('empty ruleset item');
}

/** The `family name` string of a table, as nft prints it (`inet filter`). */
export function tableLabel(t: { family: string; name: string }): string {
  return `${t.family} ${t.name}`;
}

/**
 * The fields of set or map element `e` written `{"elem": {"val": …, "timeout": S, …}}` (a map's
 * `[key, data]` on its key), or undefined for a bare value. Pure.
 */
export function elementFields(e: unknown): Record<string, unknown> | undefined {
  const key = Array.isArray(e) && e.length === 2 ? e[0] : e;
  if (key === null || typeof key !== 'object' || Array.isArray(key)) return undefined;
  const inner = (key as Record<string, unknown>).elem;
  return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : undefined;
}
