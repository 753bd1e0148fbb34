/**
 * Patterns naming tables an agent may adopt (`--adopt-tables`): tables that already exist on a
 * host, made by someone else, which a revision may nonetheless replace.
 *
 * Grammar:  list    := pattern (',' pattern)*      blanks around each pattern are ignored
 *           pattern := FAMILY ' ' NAME-GLOB         e.g. `inet f2b-table`, `ip kube-*`
 *                    | NAME-GLOB                    any family, e.g. `f2b-*`
 *           glob    := '*' any run of characters, '?' exactly one, anything else itself
 * The whole name must match. Matching is O(name x pattern) with no backtracking blow-up (a
 * dynamic programme over two rows), both bounded by nft's 255-byte names.
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import { NftSyncError } from '../errors.js';
import type { TableRef } from './ruleset-types.js';
import { FAMILIES } from './ruleset-items.js';

export interface TablePattern {
  /** The pattern as written. */
  source: string;
  /** Undefined: any family. */
  family?: string;
  name: string;
}

const MAX_PATTERN = SHARED_DEFAULTS.names.tablePatternMaxLength;

/**
 * Parse a comma-separated list of patterns (empty or undefined: none). Errors:
 * NFTSYNC_ERR_USAGE naming the pattern (an unknown family, an empty name, a pattern too long).
 */
export function parseTablePatterns(list: string | undefined): TablePattern[] {
  if (list === undefined) return [];
  const out: TablePattern[] = [];
  for (const raw of list.split(',')) {
    const source = raw.trim();
    if (source === '') continue;
    const bad = (why: string) => new NftSyncError('NFTSYNC_ERR_USAGE', `--adopt-tables ${JSON.stringify(source.slice(0, 80))}: ${why}`);
    if (source.length > MAX_PATTERN) throw bad(`longer than ${MAX_PATTERN} characters`);
    const parts = source.split(/\s+/);
    if (parts.length > 2) throw bad("expected 'FAMILY NAME' or 'NAME', e.g. 'inet f2b-table' or 'f2b-*'");
    const [family, name] = parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!];
    if (family !== undefined && !(FAMILIES as readonly string[]).includes(family)) throw bad(`unknown family ${JSON.stringify(family)} (one of ${FAMILIES.join(', ')})`);
    out.push({ source, ...(family !== undefined && { family }), name });
  }
  return out;
}

/** True when `name` matches `glob` as a whole. Pure. */
export function globMatches(glob: string, name: string): boolean {
  // prev[j]: glob[0..i) matches name[0..j).
  let prev = new Array<boolean>(name.length + 1).fill(false);
  prev[0] = true;
  for (let i = 0; i < glob.length; i++) {
    const g = glob[i];
    const next = new Array<boolean>(name.length + 1).fill(false);
    next[0] = g === '*' && prev[0]!;
    for (let j = 1; j <= name.length; j++) {
      if (g === '*') next[j] = prev[j]! || next[j - 1]!;
      else next[j] = prev[j - 1]! && (g === '?' || g === name[j - 1]);
    }
    prev = next;
  }
  return prev[name.length]!;
}

/** True when some pattern of `patterns` names `table`. Pure. */
export function tableMatches(patterns: readonly TablePattern[], table: TableRef): boolean {
  return patterns.some((p) => (p.family === undefined || p.family === table.family) && globMatches(p.name, table.name));
}
