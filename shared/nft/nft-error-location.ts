/**
 * Naming the ruleset object nft refused: its JSON pointer (`/nftables/17`) and a short
 * rendering (`rule 3 of chain inet filter input`), from what nft's message says or from a
 * position found otherwise (the push validator's and import's bisection in a scratch namespace).
 *
 * nft 1.0.6 says where only for JSON it cannot parse ("Parsing command array at index 2
 * failed", with "Parsing expr array at index 1" for a rule's statement); errors from evaluation
 * and from the kernel ("Could not process rule: No such file or directory") come with
 * `internal:0:0-0` and nothing else. For the commonest of those, a jump, goto or set reference
 * to something the ruleset does not declare, the ruleset itself names the culprit when only one
 * rule has such a reference.
 */
import type { Ruleset, TableRef } from '../ruleset/ruleset-types.js';
import { itemBody, itemKind } from '../ruleset/ruleset-items.js';
import { transactionOrigins } from './transaction-origins.js';

/** A ruleset item (and optionally one statement of a rule or one element of a set). */
export interface ItemPosition {
  /** Index into `ruleset.nftables`. */
  index: number;
  /** Index into a rule's `expr`. */
  expr?: number;
  /** Index into a set's or map's `elem`. */
  element?: number;
}

export interface NftErrorLocation {
  /** JSON pointer into the ruleset file, e.g. `/nftables/17` or `/nftables/17/rule/expr/1`. */
  pointer: string;
  /** e.g. `rule 3 of chain inet filter input`. */
  what: string;
}

/**
 * Pointer and rendering of `pos` in `ruleset`: `table inet filter`, `chain inet filter input`,
 * `rule 3 of chain inet filter input` (rules counted from 1 within their chain, in file order),
 * `statement 2 of rule 3 of chain …`, `set inet filter blocked`, `element 524 of set …`,
 * `elements for set …` (an `element` item), `counter inet filter web`. Pure; an index out of
 * range is rendered as `item N`.
 */
export function describePosition(ruleset: Ruleset, pos: ItemPosition): NftErrorLocation {
  const item = ruleset.nftables[pos.index];
  let pointer = `/nftables/${pos.index}`;
  if (item === undefined) return { pointer, what: `item ${pos.index}` };
  const kind = itemKind(item);
  const b = itemBody(item);
  const where = `${String(b.family)} ${String(b.table)}`;
  let what: string;
  if (kind === 'table') what = `table ${String(b.family)} ${String(b.name)}`;
  else if (kind === 'rule') {
    let n = 0;
    for (let i = 0; i <= pos.index; i++) {
      const other = ruleset.nftables[i]!;
      if (itemKind(other) !== 'rule') continue;
      const o = itemBody(other);
      if (o.family === b.family && o.table === b.table && o.chain === b.chain) n++;
    }
    what = `rule ${n} of chain ${where} ${String(b.chain)}`;
    if (pos.expr !== undefined) {
      what = `statement ${pos.expr + 1} of ${what}`;
      pointer += `/rule/expr/${pos.expr}`;
    }
  } else if (kind === 'element') what = `elements for set ${where} ${String(b.name)}`;
  else if (kind === 'metainfo') what = 'metainfo';
  else {
    what = `${kind} ${where} ${String(b.name)}`;
    if (pos.element !== undefined && (kind === 'set' || kind === 'map')) {
      what = `element ${pos.element + 1} of ${what}`;
      pointer += `/${kind}/elem/${pos.element}`;
    }
  }
  return { pointer, what };
}

/** `rule 3 of chain inet filter input (/nftables/17)`. */
export function formatLocation(loc: NftErrorLocation): string {
  return `${loc.what} (${loc.pointer})`;
}

/**
 * The item nft's error output `stderr` points at, for the transaction
 * `buildApplyTransaction(ruleset, previouslyManaged)`: from "Parsing command array at index N"
 * (and "Parsing expr array at index M" inside a rule), else, for "No such file or directory",
 * the one rule that jumps or goes to a chain, or looks up a set or map, that its table does not
 * declare. Undefined when neither applies. Pure; never throws.
 */
export function locateNftError(stderr: string, ruleset: Ruleset, previouslyManaged: readonly TableRef[] = []): NftErrorLocation | undefined {
  const cmd = /Parsing command array at index (\d+) failed/.exec(stderr);
  if (cmd) {
    const origin = transactionOrigins(ruleset, previouslyManaged)[Number(cmd[1])];
    if (origin === undefined) return undefined;
    const expr = /Parsing expr array at index (\d+) failed/.exec(stderr);
    const isRule = itemKind(ruleset.nftables[origin]!) === 'rule';
    return describePosition(ruleset, { index: origin, expr: isRule && expr ? Number(expr[1]) : undefined });
  }
  if (/No such file or directory/.test(stderr)) {
    const suspects = rulesWithDanglingReferences(ruleset);
    if (suspects.length === 1) return describePosition(ruleset, { index: suspects[0]! });
  }
  return undefined;
}

/** Rules that name a chain (jump, goto) or a set (`@name`) their table does not declare. */
function rulesWithDanglingReferences(ruleset: Ruleset): number[] {
  const declared = new Set<string>();
  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    const b = itemBody(item);
    if (kind === 'chain') declared.add(`chain ${String(b.family)} ${String(b.table)} ${String(b.name)}`);
    if (kind === 'set' || kind === 'map') declared.add(`set ${String(b.family)} ${String(b.table)} ${String(b.name)}`);
  }
  const out: number[] = [];
  ruleset.nftables.forEach((item, i) => {
    if (itemKind(item) !== 'rule') return;
    const b = itemBody(item);
    const where = `${String(b.family)} ${String(b.table)}`;
    const refs: string[] = [];
    collectReferences(b.expr, refs);
    if (refs.some((r) => !declared.has(r.replace(/^(chain|set) /, `$1 ${where} `)))) out.push(i);
  });
  return out;
}

/** Keys under which nft's JSON names a set by `@name` (match operands, set statements, maps). */
const SET_REFERENCE_KEYS = new Set(['left', 'right', 'set', 'data', 'map']);

function collectReferences(v: unknown, out: string[], key = ''): void {
  if (typeof v === 'string') {
    if (SET_REFERENCE_KEYS.has(key) && v.startsWith('@') && v.length > 1) out.push(`set ${v.slice(1)}`);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collectReferences(x, out, key);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'jump' || k === 'goto') && x !== null && typeof x === 'object' && typeof (x as { target?: unknown }).target === 'string') {
      out.push(`chain ${(x as { target: string }).target}`);
    } else collectReferences(x, out, k);
  }
}
