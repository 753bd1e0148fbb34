/**
 * One line of `nft -j monitor`, reduced to what drift detection needs: what happened, to which
 * kind of object, in which table. Pure.
 *
 * nft 1.0.6 prints one JSON object per line, e.g.
 *   {"add": {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2, "expr": [...]}}}
 *   {"delete": {"table": {"family": "inet", "name": "t", "handle": 1}}}
 */
import { SHARED_DEFAULTS } from '../defaults.js';

export interface MonitorEvent {
  /** add, delete, replace, ... (the top-level key). */
  verb: string;
  /** table, chain, rule, set, map, element, flowtable, counter, ... */
  kind: string;
  family: string;
  table: string;
  /** A short human description, e.g. `rule added in inet t c`. */
  summary: string;
}

const PAST: Record<string, string> = { add: 'added', delete: 'deleted', replace: 'replaced', insert: 'inserted', flush: 'flushed', reset: 'reset' };

/** Above this, a line (an element event of a big set: megabytes) is not parsed in full. */
const LONG_LINE = SHARED_DEFAULTS.nft.monitorLongLineBytes;

/**
 * The event of a long line from its head alone: nft prints the verb, the kind, then family,
 * table (or name, for a table) and name before the elements, e.g.
 * `{"add": {"element": {"family": "inet", "table": "t", "name": "s", "elem": {"set": [...`.
 */
function parseHead(head: string): MonitorEvent | undefined {
  const m = /^\{\s*"(\w+)":\s*\{\s*"(\w+)":\s*\{(.*)$/s.exec(head);
  if (!m) return undefined;
  const [, verb, kind, rest] = m as unknown as [string, string, string, string];
  const field = (name: string) => new RegExp(`"${name}":\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(rest)?.[1];
  const family = field('family');
  const table = kind === 'table' ? field('name') : field('table');
  if (family === undefined || table === undefined) return undefined;
  const name = kind === 'table' ? undefined : field('name');
  const what = kind === 'table' ? `table ${family} ${table}` : name !== undefined ? `${kind} ${name}` : kind;
  const summary = kind === 'table' ? `${what} ${PAST[verb] ?? verb}` : `${what} ${PAST[verb] ?? verb} in ${family} ${table}`;
  return { verb, kind, family, table, summary };
}

/**
 * Parse one monitor line (lines over 64 KiB from their head only). Returns undefined for anything that is not an object event naming a
 * family and a table (blank lines, `metainfo`, trace output, garbage). Never throws.
 */
export function parseMonitorLine(line: string): MonitorEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  if (text.length > LONG_LINE) return parseHead(text.slice(0, 1024));
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const [verb, inner] = Object.entries(doc as Record<string, unknown>)[0] ?? [];
  if (verb === undefined || inner === null || typeof inner !== 'object' || Array.isArray(inner)) return undefined;
  const [kind, body] = Object.entries(inner as Record<string, unknown>)[0] ?? [];
  if (kind === undefined || body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const family = b.family;
  const table = kind === 'table' ? b.name : b.table;
  if (typeof family !== 'string' || typeof table !== 'string') return undefined;
  const where = kind === 'rule' && typeof b.chain === 'string' ? `${family} ${table} ${b.chain}` : `${family} ${table}`;
  const what = kind === 'table' ? `table ${family} ${table}` : typeof b.name === 'string' ? `${kind} ${b.name}` : kind;
  const summary = kind === 'table' ? `${what} ${PAST[verb] ?? verb}` : `${what} ${PAST[verb] ?? verb} in ${where}`;
  return { verb, kind, family, table, summary };
}
