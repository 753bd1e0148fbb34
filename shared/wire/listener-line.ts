/**
 * The lines of the drift listener (agent/drift/nft-events.py), parsed and typed. Pure.
 *
 * One JSON object a line, tagged by `t`:
 *   {"t":"ready","gen":7}                     listening; the kernel's generation id then
 *   {"t":"tx","gen":8,"pid":4242,"proc":"nft","tables":[["inet","t"]],"events":[...],"truncated":false}
 *                                             one committed transaction (NFT_MSG_NEWGEN closes it);
 *                                             `tables`: every table it touched, even past the caps
 *   {"t":"lost"}                              the kernel dropped events (socket buffer full)
 *   {"t":"paused","gen":8} / {"t":"resumed","gen":9} / {"t":"gen","gen":9,"seen":9}
 *                                             answers to the pause, resume and gen commands
 * An event: {"op":"add"|"del"|"replace","kind":"table"|"chain"|"rule"|"set"|"element"|"obj"|
 * "flowtable","family":"inet","table":"t", plus "name" (chain, set, object), "chain" and
 * "handle" (rule), "elems" and "count" (element: keys as hex, "e" the key end, "f" flags,
 * "d" true when the element carries map data)}.
 */

export interface ElemKey {
  /** The key's bytes, hex. */
  k: string;
  /** The key end (concatenated ranges), hex. */
  e?: string;
  /** NFTA_SET_ELEM_FLAGS (1: interval end). */
  f?: number;
  /** True when the element carries data (a map element). */
  d?: boolean;
}

export interface TxEvent {
  op: 'add' | 'del' | 'replace';
  kind: 'table' | 'chain' | 'rule' | 'set' | 'element' | 'obj' | 'flowtable';
  family: string;
  table: string;
  /** Chain, set or object name. */
  name?: string;
  /** A rule's chain. */
  chain?: string;
  handle?: number;
  /** Elements (up to the listener's cap). */
  elems?: ElemKey[];
  /** How many elements the event had (more than `elems` when capped). */
  count?: number;
}

export type ListenerLine =
  | { t: 'ready'; gen: number }
  | { t: 'tx'; gen: number; pid: number; proc: string; tables: Array<[string, string]>; events: TxEvent[]; truncated: boolean }
  | { t: 'lost' }
  | { t: 'paused'; gen: number }
  | { t: 'resumed'; gen: number }
  | { t: 'gen'; gen: number; seen: number };

export type ParseResult = { ok: true; line: ListenerLine } | { ok: false; reason: string };

const OPS = new Set(['add', 'del', 'replace']);
const KINDS = new Set(['table', 'chain', 'rule', 'set', 'element', 'obj', 'flowtable']);
const HEX = /^(?:[0-9a-f]{2})*$/;

const isGen = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isStr = (v: unknown): v is string => typeof v === 'string';

function parseElem(v: unknown): ElemKey | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (!isStr(o.k) || !HEX.test(o.k)) return undefined;
  if (o.e !== undefined && (!isStr(o.e) || !HEX.test(o.e))) return undefined;
  if (o.f !== undefined && !isGen(o.f)) return undefined;
  if (o.d !== undefined && o.d !== true) return undefined;
  return { k: o.k, ...(o.e !== undefined && { e: o.e as string }), ...(o.f !== undefined && { f: o.f as number }), ...(o.d === true && { d: true }) };
}

function parseEvent(v: unknown): TxEvent | string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'an event is not an object';
  const o = v as Record<string, unknown>;
  if (!isStr(o.op) || !OPS.has(o.op)) return `unknown op ${JSON.stringify(o.op)}`;
  if (!isStr(o.kind) || !KINDS.has(o.kind)) return `unknown kind ${JSON.stringify(o.kind)}`;
  if (!isStr(o.family) || !isStr(o.table)) return 'an event without family or table';
  const ev: TxEvent = { op: o.op as TxEvent['op'], kind: o.kind as TxEvent['kind'], family: o.family, table: o.table };
  if (o.name !== undefined) {
    if (!isStr(o.name)) return 'a name that is not a string';
    ev.name = o.name;
  }
  if (o.chain !== undefined) {
    if (!isStr(o.chain)) return 'a chain that is not a string';
    ev.chain = o.chain;
  }
  if (o.handle !== undefined) {
    if (typeof o.handle !== 'number' || !Number.isSafeInteger(o.handle)) return 'a handle that is not an integer';
    ev.handle = o.handle;
  }
  if (ev.kind === 'element') {
    if (!Array.isArray(o.elems) || typeof o.count !== 'number' || !Number.isInteger(o.count) || o.count < o.elems.length) return 'an element event without elems and count';
    const elems: ElemKey[] = [];
    for (const e of o.elems) {
      const p = parseElem(e);
      if (!p) return 'an element key that is not hex';
      elems.push(p);
    }
    ev.elems = elems;
    ev.count = o.count;
  }
  return ev;
}

/**
 * Parse one listener line. Returns `{ok: false, reason}` for anything that is not one of the
 * lines above (blank, garbage, an unknown tag, a field of the wrong type). Never throws.
 */
export function parseListenerLine(text: string): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, reason: 'not a JSON object' };
  const o = doc as Record<string, unknown>;
  switch (o.t) {
    case 'lost':
      return { ok: true, line: { t: 'lost' } };
    case 'ready':
    case 'paused':
    case 'resumed':
      return isGen(o.gen) ? { ok: true, line: { t: o.t, gen: o.gen } } : { ok: false, reason: `${o.t} without a generation id` };
    case 'gen':
      return isGen(o.gen) && isGen(o.seen) ? { ok: true, line: { t: 'gen', gen: o.gen, seen: o.seen } } : { ok: false, reason: 'gen without generation ids' };
    case 'tx': {
      if (!isGen(o.gen) || !isGen(o.pid) || !isStr(o.proc) || typeof o.truncated !== 'boolean' || !Array.isArray(o.events) || !Array.isArray(o.tables)) {
        return { ok: false, reason: 'tx without gen, pid, proc, tables, truncated or events' };
      }
      const tables: Array<[string, string]> = [];
      for (const t of o.tables) {
        if (!Array.isArray(t) || t.length !== 2 || !isStr(t[0]) || !isStr(t[1])) return { ok: false, reason: 'a table that is not [family, name]' };
        tables.push([t[0], t[1]]);
      }
      const events: TxEvent[] = [];
      for (const e of o.events) {
        const ev = parseEvent(e);
        if (typeof ev === 'string') return { ok: false, reason: ev };
        events.push(ev);
      }
      return { ok: true, line: { t: 'tx', gen: o.gen, pid: o.pid, proc: o.proc, tables, events, truncated: o.truncated } };
    }
    default:
      return { ok: false, reason: `unknown line tag ${JSON.stringify(o.t)}` };
  }
}

const PAST: Record<TxEvent['op'], string> = { add: 'added', del: 'deleted', replace: 'replaced' };

/**
 * A short description of an event for drift reports, e.g. `rule added in inet t input (handle 5)`,
 * `table inet t deleted`, `3 element(s) added to set inet t blk`.
 */
export function describeEvent(ev: TxEvent): string {
  const where = `${ev.family} ${ev.table}`;
  switch (ev.kind) {
    case 'table':
      return `table ${where} ${PAST[ev.op]}`;
    case 'rule':
      return `rule ${PAST[ev.op]} in ${where} ${ev.chain ?? '?'}${ev.handle !== undefined ? ` (handle ${ev.handle})` : ''}`;
    case 'element':
      return `${ev.count ?? 0} element(s) ${ev.op === 'del' ? 'deleted from' : 'added to'} set ${where} ${ev.name ?? '?'}`;
    default:
      return `${ev.kind} ${ev.name ?? '?'} ${PAST[ev.op]} in ${where}`;
  }
}
