/**
 * Renaming the tables of a ruleset, so that several rulesets that declare the same tables can
 * be loaded side by side into one scratch namespace in one nft transaction (the push
 * validator's fast path). Every reference in nft stays inside its table (rules jump to chains
 * of their table, `@set` names a set of their table), so renaming the table of every item is
 * enough for the copy to load exactly as the original would.
 */
import type { Ruleset, RulesetItem } from './ruleset-types.js';
import { itemBody, itemKind } from './ruleset-items.js';

/** The table name an item belongs to (its own name for a table item), or undefined (metainfo). */
export function tableOfItem(item: RulesetItem): string | undefined {
  const kind = itemKind(item);
  if (kind === 'metainfo') return undefined;
  const body = itemBody(item);
  return String(kind === 'table' ? body.name : body.table);
}

/**
 * A copy of `ruleset` whose every table name is `rename(name)` (in table items and in the
 * `table` field of all others). Shallow: bodies are new objects, expressions are shared.
 * Pure; never throws.
 */
export function renameTables(ruleset: Ruleset, rename: (name: string) => string): Ruleset {
  const nftables = ruleset.nftables.map((item) => {
    const kind = itemKind(item);
    if (kind === 'metainfo') return item;
    const body = { ...itemBody(item) };
    if (kind === 'table') body.name = rename(String(body.name));
    else body.table = rename(String(body.table));
    return { [kind]: body } as unknown as RulesetItem;
  });
  return { nftables };
}
