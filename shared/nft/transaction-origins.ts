/**
 * Where each command of an apply transaction comes from, and the order in which the
 * transaction adds a ruleset's items: what turns nft's "command array at index 17" into the
 * ruleset item at fault, and what the bisection of a refused ruleset loads prefixes of.
 *
 * Mirrors buildApplyTransaction (shared/ruleset/apply-plan.ts): the table commands that open it, two
 * (`add` + `delete`) per distinct owned table and one (`create`) per declared table not owned
 * (declared ones first, then the previously managed ones), then tables, chains, named
 * objects, sets and maps (element items folded into their set), flowtables and rules, each in
 * file order. A unit test holds the two in step.
 */
import type { Ruleset, TableRef } from '../ruleset/ruleset-types.js';
import { NAMED_OBJECT_KINDS, itemBody, itemKind } from '../ruleset/ruleset-items.js';

const NAMED = new Set<string>(NAMED_OBJECT_KINDS);

/** The transaction's stage for an item kind (lower loads first); undefined: not added. */
function stage(kind: string): number | undefined {
  if (kind === 'table') return 0;
  if (kind === 'chain') return 1;
  if (NAMED.has(kind)) return 2;
  if (kind === 'set' || kind === 'map') return 3;
  if (kind === 'element') return 4;
  if (kind === 'flowtable') return 5;
  if (kind === 'rule') return 6;
  return undefined;
}

/**
 * Indices into `ruleset.nftables` in the order the apply transaction adds them (metainfo and
 * unknown kinds left out; element items right after the sets, where they are folded in).
 * Any prefix of it, as a ruleset, builds a transaction nft can judge on its own. Pure.
 */
export function applyOrder(ruleset: Ruleset): number[] {
  const byStage: number[][] = [[], [], [], [], [], [], []];
  ruleset.nftables.forEach((item, i) => {
    const s = stage(itemKind(item));
    if (s !== undefined) byStage[s]!.push(i);
  });
  return byStage.flat();
}

/**
 * For each command of `buildApplyTransaction(ruleset, previouslyManaged)`, the index of the
 * ruleset item it adds (a set's command stands for the set, whatever element items were folded
 * into it), or undefined for the table commands (`add` + `delete`, or `create`) that open it.
 * Pure; never throws.
 */
export function transactionOrigins(ruleset: Ruleset, previouslyManaged: readonly TableRef[]): Array<number | undefined> {
  const owned = new Set(previouslyManaged.map((t) => `${t.family} ${t.name}`));
  const seen = new Set<string>();
  let resets = 0;
  const reset = (family: unknown, name: unknown): void => {
    const key = `${String(family)} ${String(name)}`;
    if (seen.has(key)) return;
    seen.add(key);
    resets += owned.has(key) ? 2 : 1;
  };
  for (const item of ruleset.nftables) {
    if (itemKind(item) !== 'table') continue;
    const t = itemBody(item);
    reset(t.family, t.name);
  }
  for (const t of previouslyManaged) reset(t.family, t.name);
  const out: Array<number | undefined> = new Array<undefined>(resets).fill(undefined);
  for (const i of applyOrder(ruleset)) if (itemKind(ruleset.nftables[i]!) !== 'element') out.push(i);
  return out;
}
