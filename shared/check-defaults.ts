/**
 * The one check every side's table of defaults goes through once, when its module loads
 * (shared/defaults.ts, server/defaults.ts, agent/defaults.ts, cli/defaults.ts). Pure.
 *
 * A default is a tunable value: a timeout, a limit, a window, an interval, a cap, a frame size.
 * Facts of other systems (nft's 255-byte names, a Unix socket path's 107 bytes, exit codes) are
 * not defaults and stay where they are used.
 */
import { NftSyncError } from './errors.js';

/** A leaf of a table: a count, a size or a duration (safe integer ≥ 0), a list of them, a word or a switch. */
export type DefaultLeaf = number | string | boolean | readonly number[];

/** A table of defaults: leaves grouped by the part of the program that uses them. */
export interface DefaultsTable {
  readonly [key: string]: DefaultLeaf | DefaultsTable;
}

/** Read-only all the way down. */
export type DeepReadonly<T> = T extends readonly (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** A relation between defaults that must hold (e.g. a base delay not above its cap), and what it says. */
export type DefaultsRule<T> = readonly [says: string, holds: (table: T) => boolean];

function invalid(side: string, what: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `${side} defaults: ${what}`, { data: { side } });
}

function checkLeaf(side: string, path: string, v: unknown): void {
  const count = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (count(v) || typeof v === 'boolean') return;
  if (typeof v === 'string' && v.length > 0) return;
  if (Array.isArray(v) && v.length > 0 && v.every(count)) return;
  throw invalid(side, `${path} is ${JSON.stringify(v) ?? String(v)}; a default is a whole number ≥ 0, a non-empty list of them, a non-empty word or a switch`);
}

function walk(side: string, prefix: string, node: unknown): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    checkLeaf(side, prefix, node);
    return Array.isArray(node) ? Object.freeze([...node]) : node;
  }
  const keys = Object.keys(node);
  if (keys.length === 0) throw invalid(side, `${prefix || 'the table'} is an empty group`);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = walk(side, prefix ? `${prefix}.${k}` : k, (node as Record<string, unknown>)[k]);
  return Object.freeze(out);
}

/**
 * Check `table` (every leaf a whole number ≥ 0, a non-empty list of them, a non-empty string or
 * a boolean; every group non-empty) and every rule, and return a deep-frozen copy. Throws
 * NFTSYNC_ERR_CONFIG_INVALID naming the side and the dotted path (or the rule) at fault.
 */
export function checkDefaults<T extends DefaultsTable>(side: string, table: T, rules: readonly DefaultsRule<T>[] = []): DeepReadonly<T> {
  const frozen = walk(side, '', table) as T;
  for (const [says, holds] of rules) if (!holds(frozen)) throw invalid(side, `${says} does not hold`);
  return frozen as DeepReadonly<T>;
}

/** Every leaf of `table` by dotted path (`wire.handshakeTimeoutMs`), in declaration order. */
export function flattenDefaults(table: DefaultsTable, prefix = ''): Map<string, DefaultLeaf> {
  const out = new Map<string, DefaultLeaf>();
  for (const [k, v] of Object.entries(table)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && !Array.isArray(v)) for (const [p, leaf] of flattenDefaults(v as DefaultsTable, path)) out.set(p, leaf);
    else out.set(path, v as DefaultLeaf);
  }
  return out;
}
