/**
 * Set element keys as the kernel announces them (bytes, hex) and as a ruleset declares them
 * (libnftables JSON values), brought to one canonical id, and rendered back to JSON. Pure.
 *
 * This is what lets the agent heal a hand-made change to a 1,000,000-element set as a delta
 * (delete what was added, add back what was deleted) instead of a full reload, and tell when a
 * drift has been undone. Covered: sets (not maps) whose type is one of ipv4_addr, ipv6_addr,
 * inet_service, inet_proto, ether_addr, or a concatenation of them; intervals for a single type.
 * Anything else (maps, concatenated ranges, auto-merge, typeof sets nft lists as `integer`) is
 * refused with a reason, and the agent re-applies the ruleset instead.
 *
 * Kernel layout (nf_tables): each field of a concatenation is padded to 4 bytes; a single field
 * keeps its own length. An interval set (rbtree) stores a range as a start element and an end
 * element (flag NFT_SET_ELEM_INTERVAL_END = 1) holding the first value after the range; nft adds
 * an end element at zero before the first range, and omits the end of a range that reaches the
 * top of the type. The canonical id of a plain key is its hex; of a range, `START-LAST` (both
 * inclusive, hex).
 */
import type { ElemKey } from '../wire/listener-line.js';

export type KeyField = 'ipv4_addr' | 'ipv6_addr' | 'inet_service' | 'inet_proto' | 'ether_addr';

const LENGTH: Record<KeyField, number> = { ipv4_addr: 4, ipv6_addr: 16, inet_service: 2, inet_proto: 1, ether_addr: 6 };

/** How a set's keys read: its fields and whether it holds ranges. */
export interface SetShape {
  fields: KeyField[];
  interval: boolean;
}

/** One element: its canonical id and how to write it in libnftables JSON. */
export interface ElementKey {
  id: string;
  value: unknown;
}

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const PROTOCOLS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, udplite: 136 };

/**
 * The shape of a declared set (`{"set": {...}}` body), or why its elements cannot be handled
 * as a delta. Never throws.
 */
export function setShape(body: Record<string, unknown>): Result<SetShape> {
  if (body.map !== undefined) return { ok: false, reason: 'a map' };
  if (body['auto-merge'] === true) return { ok: false, reason: 'auto-merge merges ranges' };
  const types = Array.isArray(body.type) ? body.type : [body.type];
  const fields: KeyField[] = [];
  for (const t of types) {
    if (typeof t !== 'string' || !(t in LENGTH)) return { ok: false, reason: `type ${JSON.stringify(body.type)}` };
    fields.push(t as KeyField);
  }
  const flags = Array.isArray(body.flags) ? body.flags : typeof body.flags === 'string' ? [body.flags] : [];
  const interval = flags.includes('interval');
  if (interval && fields.length > 1) return { ok: false, reason: 'concatenated ranges' };
  if (fields.length === 0) return { ok: false, reason: 'no type' };
  return { ok: true, value: { fields, interval } };
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Bytes of a key in the kernel: one field at its length, concatenated fields padded to 4. */
function keyLength(shape: SetShape): number {
  return shape.fields.length === 1 ? LENGTH[shape.fields[0]!] : shape.fields.reduce((n, f) => n + pad4(LENGTH[f]), 0);
}

function renderField(f: KeyField, hex: string): unknown {
  const b = Buffer.from(hex, 'hex');
  switch (f) {
    case 'ipv4_addr':
      return [...b].join('.');
    case 'ipv6_addr':
      return formatIpv6(b);
    case 'inet_service':
      return b.readUInt16BE(0);
    case 'inet_proto':
      return b[0]!;
    case 'ether_addr':
      return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  }
}

/** RFC 5952 text of a 16-byte address (lower case, longest run of two or more zero groups as ::). */
export function formatIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) (best = i), (bestLen = j - i);
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The JSON value of a plain (not range) key. */
function renderKey(shape: SetShape, hex: string): unknown {
  if (shape.fields.length === 1) return renderField(shape.fields[0]!, hex);
  const parts: unknown[] = [];
  let off = 0;
  for (const f of shape.fields) {
    parts.push(renderField(f, hex.slice(off * 2, (off + LENGTH[f]) * 2)));
    off += pad4(LENGTH[f]);
  }
  return { concat: parts };
}

function hexAdd(hex: string, delta: 1 | -1): string {
  const b = Buffer.from(hex, 'hex');
  for (let i = b.length - 1; i >= 0; i--) {
    const v = b[i]! + delta;
    b[i] = v & 0xff;
    if (v >= 0 && v <= 0xff) break;
  }
  return b.toString('hex');
}

/** The JSON of a range [first, last] (hex, inclusive) of one field: a value, a prefix or a range. */
function renderRange(f: KeyField, first: string, last: string): unknown {
  if (first === last) return renderField(f, first);
  if (f === 'ipv4_addr' || f === 'ipv6_addr') {
    const a = BigInt(`0x${first}`);
    const z = BigInt(`0x${last}`);
    const bits = LENGTH[f] * 8;
    const size = z - a + 1n;
    const hostBits = size.toString(2).length - 1;
    if (size === 1n << BigInt(hostBits) && a % size === 0n) return { prefix: { addr: renderField(f, first), len: bits - hostBits } };
  }
  return { range: [renderField(f, first), renderField(f, last)] };
}

/**
 * The elements of one set's event, as canonical ids and JSON values. For an interval set the
 * start and end elements are paired into ranges (nft's end element at zero is dropped). Errors
 * (as `ok: false`): a key of the wrong length, map data, an end with no start.
 */
export function kernelElements(shape: SetShape, elems: readonly ElemKey[]): Result<ElementKey[]> {
  const len = keyLength(shape) * 2;
  for (const e of elems) {
    if (e.d) return { ok: false, reason: 'an element with map data' };
    if (e.k.length !== len || (e.e !== undefined && e.e.length !== len)) return { ok: false, reason: `a key of ${e.k.length / 2} bytes, ${len / 2} expected` };
    if (e.e !== undefined) return { ok: false, reason: 'a concatenated range' };
  }
  if (!shape.interval) return { ok: true, value: elems.map((e) => ({ id: e.k, value: renderKey(shape, e.k) })) };
  const f = shape.fields[0]!;
  const starts = elems.filter((e) => !((e.f ?? 0) & 1)).map((e) => e.k).sort();
  const ends = elems.filter((e) => (e.f ?? 0) & 1).map((e) => e.k).sort();
  const zero = '0'.repeat(len);
  const top = 'f'.repeat(len);
  const out: ElementKey[] = [];
  let j = 0;
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    while (j < ends.length && ends[j]! <= s) {
      if (ends[j] !== zero) return { ok: false, reason: 'an interval end without its start' };
      j++;
    }
    const next = starts[i + 1];
    let last = top;
    if (j < ends.length && (next === undefined || ends[j]! <= next)) last = hexAdd(ends[j++]!, -1);
    out.push({ id: `${s}-${last}`, value: renderRange(f, s, last) });
  }
  for (; j < ends.length; j++) if (ends[j] !== zero) return { ok: false, reason: 'an interval end without its start' };
  return { ok: true, value: out };
}

/** Hex of a dotted quad (four numbers of one to three digits, each at most 255), or undefined. One pass, no regular expression: a blocklist change reads a thousand of them. */
function parseIpv4(s: string): string | undefined {
  if (s.length < 7 || s.length > 15) return undefined;
  let hex = '';
  let n = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e; // a '.' after the end closes the last number
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return undefined;
      n = n * 10 + (c - 0x30);
      continue;
    }
    if (c !== 0x2e || digits === 0 || n > 255 || ++parts > 4) return undefined;
    hex += (n < 16 ? '0' : '') + n.toString(16);
    n = 0;
    digits = 0;
  }
  return parts === 4 ? hex : undefined;
}

function parseIpv6(s: string): string | undefined {
  let text = s.toLowerCase();
  let tail = '';
  const v4 = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (v4) {
    const h = parseIpv4(v4[1]!);
    if (h === undefined) return undefined;
    tail = h;
    text = `${text.slice(0, -v4[1]!.length)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const hex = all.map((g) => g.padStart(4, '0')).join('');
  return tail ? hex.slice(0, 24) + tail : hex;
}

/** Hex of one declared field value, or undefined when it cannot be read (a service name, a host name). Never throws. */
export function fieldHex(f: KeyField, v: unknown): string | undefined {
  switch (f) {
    case 'ipv4_addr':
      return typeof v === 'string' ? parseIpv4(v) : undefined;
    case 'ipv6_addr':
      return typeof v === 'string' ? parseIpv6(v) : undefined;
    case 'inet_service': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
      return Number.isInteger(n) && n >= 0 && n <= 0xffff ? n.toString(16).padStart(4, '0') : undefined;
    }
    case 'inet_proto': {
      const n = typeof v === 'number' ? v : typeof v === 'string' ? (/^\d+$/.test(v) ? Number(v) : PROTOCOLS[v]) : NaN;
      return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0xff ? n.toString(16).padStart(2, '0') : undefined;
    }
    case 'ether_addr':
      return typeof v === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v) ? v.replace(/:/g, '').toLowerCase() : undefined;
  }
}

/** [first, last] (hex, inclusive) of a declared interval-set value of field `f`. */
function declaredRange(f: KeyField, v: unknown): [string, string] | undefined {
  const bits = LENGTH[f] * 8;
  const prefixRange = (addr: unknown, len: unknown): [string, string] | undefined => {
    const a = fieldHex(f, addr);
    if (a === undefined || typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > bits) return undefined;
    const host = (1n << BigInt(bits - len)) - 1n;
    const start = BigInt(`0x${a}`) & ~host;
    const hex = (n: bigint) => n.toString(16).padStart(LENGTH[f] * 2, '0');
    return [hex(start), hex(start | host)];
  };
  if (typeof v === 'string' && v.includes('/') && (f === 'ipv4_addr' || f === 'ipv6_addr')) {
    const [addr, len] = v.split('/');
    return /^\d+$/.test(len ?? '') ? prefixRange(addr, Number(len)) : undefined;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o.prefix !== null && typeof o.prefix === 'object') {
      const p = o.prefix as Record<string, unknown>;
      return prefixRange(p.addr, p.len);
    }
    if (Array.isArray(o.range) && o.range.length === 2) {
      const a = fieldHex(f, o.range[0]);
      const z = fieldHex(f, o.range[1]);
      return a !== undefined && z !== undefined && a <= z ? [a, z] : undefined;
    }
    return undefined;
  }
  const h = fieldHex(f, v);
  return h === undefined ? undefined : [h, h];
}

/**
 * The canonical id of a declared element (`"10.0.0.1"`, `{"prefix": ...}`, `{"range": ...}`,
 * `{"concat": [...]}`, `{"elem": {"val": ..., "timeout": ...}}`) in a set of `shape`, or
 * undefined when it cannot be read. Never throws.
 */
export function declaredElementId(shape: SetShape, value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'elem' in value) {
    const inner = (value as { elem: unknown }).elem;
    return inner !== null && typeof inner === 'object' && 'val' in inner ? declaredElementId(shape, (inner as { val: unknown }).val) : undefined;
  }
  if (shape.interval) {
    const r = declaredRange(shape.fields[0]!, value);
    return r && `${r[0]}-${r[1]}`;
  }
  if (shape.fields.length === 1) return fieldHex(shape.fields[0]!, value);
  const parts = value !== null && typeof value === 'object' && 'concat' in value ? (value as { concat: unknown }).concat : undefined;
  if (!Array.isArray(parts) || parts.length !== shape.fields.length) return undefined;
  let hex = '';
  for (let i = 0; i < parts.length; i++) {
    const f = shape.fields[i]!;
    const h = fieldHex(f, parts[i]);
    if (h === undefined) return undefined;
    hex += h.padEnd(pad4(LENGTH[f]) * 2, '0');
  }
  return hex;
}
