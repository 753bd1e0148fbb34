/**
 * One set or map element, as a client sends it (libnftables JSON: `"198.18.0.1"`,
 * `"198.18.0.0/24"`, `{"prefix": …}`, `{"range": […]}`, `{"concat": […]}`,
 * `{"elem": {"val": …, "timeout": S}}`, and for a map `[KEY, VALUE]`), checked against the set's
 * declaration and brought to the form `nft -j list` prints it in. Pure.
 *
 * Why the listed form: the push validator loads a ruleset and compares what nft lists back with
 * what the file declares, element by element (shared/ruleset/ruleset-normalise.ts), so a file holding
 * `"198.18.0.0/24"` where nft lists `{"prefix": …}`, or `"80"` where it lists `80`, would be
 * refused as lossy. The canonical form is also what makes "already present" exact: one element,
 * one id (its key's hex, `START-LAST` for an interval), whatever way it was written.
 *
 * Types read: ipv4_addr, ipv6_addr, inet_service, inet_proto, ether_addr, mark, ifname and
 * concatenations of them; intervals (prefixes and ranges) of one field in interval sets. A set
 * of another type (`typeof …`, `ct_state`, …) takes its elements as written: nft judges them
 * when the push validator loads the ruleset.
 */
import { fieldHex, formatIpv6, type KeyField } from './element-key.js';

/** What a set's declaration says about its elements. */
export interface ElementShape {
  kind: 'set' | 'map';
  /** One entry per field of the key (`['ipv4_addr', 'inet_service']` for a concatenation). */
  key: string[];
  /** A map's value type (`verdict`, `ipv4_addr`, …). */
  data?: string;
  interval: boolean;
  /** Elements may carry a timeout (flag `timeout`, or a default `timeout` on the set). */
  timeout: boolean;
}

/** An element brought to canonical form: its key's id and the JSON to store. */
export interface CanonicalElement {
  id: string;
  value: unknown;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const FIELD_BYTES: Record<KeyField, number> = { ipv4_addr: 4, ipv6_addr: 16, inet_service: 2, inet_proto: 1, ether_addr: 6 };
/**
 * Protocol names as nft 1.0.6 prints them here: every number netbase 6.4's /etc/protocols names,
 * by its first name (getprotobynumber; 0 is `ip`, not `hopopt`). A number left out here that nft
 * names is stored as a number and listed back as a name: lossy, refused by the push validator.
 */
const PROTOCOL_NAMES: Record<number, string> = {
  0: 'ip', 1: 'icmp', 2: 'igmp', 3: 'ggp', 4: 'ipencap', 5: 'st', 6: 'tcp', 8: 'egp', 9: 'igp', 12: 'pup', 17: 'udp', 20: 'hmp', 22: 'xns-idp', 27: 'rdp',
  29: 'iso-tp4', 33: 'dccp', 36: 'xtp', 37: 'ddp', 38: 'idpr-cmtp', 41: 'ipv6', 43: 'ipv6-route', 44: 'ipv6-frag', 45: 'idrp', 46: 'rsvp', 47: 'gre',
  50: 'esp', 51: 'ah', 57: 'skip', 58: 'ipv6-icmp', 59: 'ipv6-nonxt', 60: 'ipv6-opts', 73: 'rspf', 81: 'vmtp', 88: 'eigrp', 89: 'ospf', 93: 'ax.25',
  94: 'ipip', 97: 'etherip', 98: 'encap', 103: 'pim', 108: 'ipcomp', 112: 'vrrp', 115: 'l2tp', 124: 'isis', 132: 'sctp', 133: 'fc', 135: 'mobility-header',
  136: 'udplite', 137: 'mpls-in-ip', 138: 'manet', 139: 'hip', 140: 'shim6', 141: 'wesp', 142: 'rohc', 143: 'ethernet',
};
const PROTOCOL_NUMBERS: Record<string, number> = { ...Object.fromEntries(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)])), icmpv6: 58 };
const VERDICTS = ['accept', 'drop', 'continue', 'return'];
const ELEM_KEYS = new Set(['val', 'timeout', 'comment']);
/** Half of a UTF-16 pair without its other half: no UTF-8 for it, and nft refuses the JSON. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Longest timeout nft 1.0.6 loads, in seconds: past it the kernel answers ERANGE (milliseconds as nanoseconds overflow 64 bits). */
export const MAX_TIMEOUT_SECONDS = 18_446_744_073;
/** Most bytes of UTF-8 an element's comment may take: the kernel keeps it, its NUL and a 2-byte header in 256 bytes of user data. */
export const MAX_COMMENT_BYTES = 251;

/** The element shape of a `set` or `map` body. Never throws. */
export function elementShape(kind: 'set' | 'map', body: Record<string, unknown>): ElementShape {
  const key = (Array.isArray(body.type) ? body.type : [body.type]).map(String);
  const flags = Array.isArray(body.flags) ? body.flags : typeof body.flags === 'string' ? [body.flags] : [];
  return {
    kind,
    key,
    ...(kind === 'map' ? { data: String(body.map) } : {}),
    interval: flags.includes('interval'),
    timeout: flags.includes('timeout') || typeof body.timeout === 'number',
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v);

/** nft's text of an IPv6 address (glibc inet_ntop: `::ffff:1.2.3.4` and `::1.2.3.4` dotted). */
function ipv6Text(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  const zeros = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const quad = () => [...b.subarray(12)].join('.');
  if (zeros(10) && b.readUInt16BE(10) === 0xffff) return `::ffff:${quad()}`;
  if (zeros(12) && b.readUInt16BE(12) !== 0) return `::${quad()}`;
  return formatIpv6(b);
}

/**
 * An element whose listed form is worked out only when read: the ids of the elements already in a
 * file (a million of them) are needed, their rendering is not.
 */
function lazy(id: string, render: () => unknown): CanonicalElement {
  return {
    id,
    get value() {
      return render();
    },
  };
}

/** The listed form of one plain field value given as hex. */
function renderHex(type: KeyField, hex: string): unknown {
  // The commonest case first, without a Buffer: a blocklist change renders a thousand of them.
  if (type === 'ipv4_addr') return `${parseInt(hex.slice(0, 2), 16)}.${parseInt(hex.slice(2, 4), 16)}.${parseInt(hex.slice(4, 6), 16)}.${parseInt(hex.slice(6, 8), 16)}`;
  const b = Buffer.from(hex, 'hex');
  switch (type) {
    case 'ipv6_addr':
      return ipv6Text(hex);
    case 'inet_service':
      return b.readUInt16BE(0);
    case 'inet_proto':
      return PROTOCOL_NAMES[b[0]!] ?? b[0]!;
    case 'ether_addr':
      return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  }
}

/** One plain (not interval) field: its id and listed form, or why it does not fit `type`. */
export function plainField(type: string, v: unknown): Checked<CanonicalElement> {
  if (type in FIELD_BYTES) {
    const f = type as KeyField;
    const proto = f === 'inet_proto' && typeof v === 'string' ? PROTOCOL_NUMBERS[v] : undefined;
    const hex = fieldHex(f, proto ?? v);
    if (hex === undefined) {
      const why = f === 'inet_service' && typeof v === 'string' && !/^\d+$/.test(v) ? ' (write the port number, not a service name)' : '';
      return { ok: false, reason: `${show(v)} is not a valid ${type}${why}` };
    }
    return { ok: true, value: lazy(hex, () => renderHex(f, hex)) };
  }
  if (type === 'mark') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return { ok: false, reason: `${show(v)} is not a valid mark (0 to 4294967295)` };
    return { ok: true, value: { id: n.toString(16).padStart(8, '0'), value: n } };
  }
  if (type === 'ifname') {
    if (typeof v !== 'string' || v === '' || Buffer.byteLength(v) > 15 || /[\u0000-\u0020/\u007f]/.test(v) || LONE_SURROGATE.test(v)) return { ok: false, reason: `${show(v)} is not a valid ifname (1 to 15 bytes, no spaces or "/")` };
    return { ok: true, value: { id: `s:${v}`, value: v } };
  }
  // A type this file does not read: as written, judged by nft at validation.
  return { ok: true, value: { id: `j:${canonicalJson(v)}`, value: v } };
}

/**
 * Whether `v`'s JSON text is longer than `max` characters, found without writing it and without
 * recursion: it stops as soon as the count passes `max`, so a value of megabytes costs no more
 * than one of `max` characters. Exact for JSON.stringify's output but for escapes in strings, which are not counted.
 */
export function jsonLongerThan(v: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') size += x.length + 2;
    else if (Array.isArray(x)) {
      size += 2 + Math.max(x.length - 1, 0);
      if (x.length > max) return true;
      for (const y of x) stack.push(y);
    } else if (x !== null && typeof x === 'object') {
      const keys = Object.keys(x);
      size += 2 + Math.max(keys.length - 1, 0);
      if (keys.length > max) return true;
      for (const k of keys) {
        size += k.length + 3;
        stack.push((x as Record<string, unknown>)[k]);
      }
    } else size += String(x).length;
    if (size > max) return true;
  }
  return false;
}

/** JSON with object keys sorted: one text per value whatever the key order. Never throws. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** An interval of one field ([first, last] inclusive, hex) as nft lists it: a value, a prefix or a range. */
function renderInterval(type: KeyField, first: string, last: string): unknown {
  if (first === last) return renderHex(type, first);
  if (type === 'ipv4_addr' || type === 'ipv6_addr') {
    const a = BigInt(`0x${first}`);
    const size = BigInt(`0x${last}`) - a + 1n;
    const hostBits = size.toString(2).length - 1;
    if (size === 1n << BigInt(hostBits) && a % size === 0n) return { prefix: { addr: renderHex(type, first), len: FIELD_BYTES[type] * 8 - hostBits } };
  }
  return { range: [renderHex(type, first), renderHex(type, last)] };
}

/** Whether `v` is written as an interval (a prefix or a range). */
function isInterval(v: unknown): boolean {
  return (typeof v === 'string' && v.includes('/')) || (isObject(v) && ('prefix' in v || 'range' in v));
}

/** A key field of an interval set: a value, `ADDR/LEN`, `{"prefix"}` or `{"range"}`. */
function intervalField(type: string, v: unknown): Checked<CanonicalElement> {
  if (!(type in FIELD_BYTES)) return plainField(type, v);
  const f = type as KeyField;
  const bits = FIELD_BYTES[f] * 8;
  const hexOf = (n: bigint) => n.toString(16).padStart(bits / 4, '0');
  let addr: unknown;
  let len: unknown;
  if (typeof v === 'string' && v.includes('/')) [addr, len] = [v.slice(0, v.lastIndexOf('/')), /^\d+$/.test(v.slice(v.lastIndexOf('/') + 1)) ? Number(v.slice(v.lastIndexOf('/') + 1)) : NaN];
  else if (isObject(v) && isObject(v.prefix)) [addr, len] = [v.prefix.addr, v.prefix.len];
  else if (isObject(v) && 'range' in v) {
    const r = v.range;
    if (!Array.isArray(r) || r.length !== 2) return { ok: false, reason: `${show(v)} is not a range: write {"range": [FIRST, LAST]}` };
    const a = plainField(type, r[0]);
    const z = plainField(type, r[1]);
    if (!a.ok) return a;
    if (!z.ok) return z;
    if (a.value.id > z.value.id) return { ok: false, reason: `${show(v)} is not a range: its first value is above its last` };
    return { ok: true, value: lazy(`${a.value.id}-${z.value.id}`, () => renderInterval(f, a.value.id, z.value.id)) };
  } else {
    const p = plainField(type, v);
    return p.ok ? { ok: true, value: lazy(`${p.value.id}-${p.value.id}`, () => p.value.value) } : p;
  }
  if (f !== 'ipv4_addr' && f !== 'ipv6_addr') return { ok: false, reason: `${show(v)}: a prefix needs an address type, and this set holds ${type}` };
  const a = plainField(type, addr);
  if (!a.ok) return { ok: false, reason: `${show(v)} is not a valid ${type} prefix` };
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > bits) return { ok: false, reason: `${show(v)} is not a valid ${type} prefix (length 0 to ${bits})` };
  const host = (1n << BigInt(bits - len)) - 1n;
  const start = BigInt(`0x${a.value.id}`);
  if ((start & host) !== 0n) return { ok: false, reason: `${show(v)} has host bits set: write ${show(`${String(renderHex(f, hexOf(start & ~host)))}/${len}`)}` };
  return { ok: true, value: lazy(`${hexOf(start)}-${hexOf(start | host)}`, () => renderInterval(f, hexOf(start), hexOf(start | host))) };
}

/**
 * Why an interface name ending in `*` does not fit a set without the interval flag: nft reads
 * `eth*` as a wildcard (a prefix, which it refuses there) and lists `eth\\*` back as `eth*`.
 * A lone `*` is a name it takes as written. Undefined for anything else.
 */
function wildcard(type: string, v: unknown): string | undefined {
  if (type !== 'ifname' || typeof v !== 'string' || v.length < 2 || !v.endsWith('*')) return undefined;
  return `${show(v)} is an interface name wildcard (it ends in "*"), which needs a set with flags interval`;
}

/** The key of an element (no timeout wrapper, no map value). */
function keyOf(shape: ElementShape, v: unknown): Checked<CanonicalElement> {
  if (shape.key.length > 1) {
    const parts = isObject(v) && Array.isArray(v.concat) ? v.concat : undefined;
    if (parts === undefined || parts.length !== shape.key.length) return { ok: false, reason: `${show(v)} is not a ${shape.key.join(' . ')} key: write {"concat": [${shape.key.map((k) => k.toUpperCase()).join(', ')}]}` };
    const ids: string[] = [];
    const fields: CanonicalElement[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (isInterval(parts[i])) return { ok: false, reason: `${show(v)}: intervals in a concatenation are not supported here; give single values` };
      const w = shape.interval ? undefined : wildcard(shape.key[i]!, parts[i]);
      if (w !== undefined) return { ok: false, reason: `${show(v)}: ${w}` };
      const p = plainField(shape.key[i]!, parts[i]);
      if (!p.ok) return { ok: false, reason: `${show(v)}: ${p.reason}` };
      ids.push(p.value.id);
      fields.push(p.value);
    }
    return { ok: true, value: lazy(ids.join('.'), () => ({ concat: fields.map((x) => x.value) })) };
  }
  if (shape.interval) return intervalField(shape.key[0]!, v);
  if (isInterval(v) && shape.key[0]! in FIELD_BYTES) return { ok: false, reason: `${show(v)} is an interval, and the set has no interval flag: give single values, or declare the set with flags interval` };
  const w = wildcard(shape.key[0]!, v);
  if (w !== undefined) return { ok: false, reason: w };
  return plainField(shape.key[0]!, v);
}

/** A map's value: verdicts as nft lists them (`{"accept": null}`, `{"jump": {"target": C}}`). */
function dataOf(shape: ElementShape, v: unknown): Checked<unknown> {
  if (shape.data === 'verdict') {
    if (typeof v === 'string') {
      if (VERDICTS.includes(v)) return { ok: true, value: { [v]: null } };
      const m = /^(jump|goto) (\S+)$/.exec(v);
      if (m) return { ok: true, value: { [m[1]!]: { target: m[2] } } };
    }
    if (isObject(v) && Object.keys(v).length === 1) {
      const [k] = Object.keys(v);
      if (VERDICTS.includes(k!) && v[k!] === null) return { ok: true, value: v };
      const target = isObject(v[k!]) ? (v[k!] as Record<string, unknown>).target : undefined;
      if ((k === 'jump' || k === 'goto') && typeof target === 'string') return { ok: true, value: { [k]: { target } } };
    }
    return { ok: false, reason: `${show(v)} is not a verdict (accept, drop, continue, return, "jump CHAIN", "goto CHAIN")` };
  }
  const p = plainField(shape.data!, v);
  return p.ok ? { ok: true, value: p.value.value } : p;
}

/**
 * An element to add, checked against `shape` and in the listed form. `timeout` (seconds), when
 * given, applies where the element does not carry its own. The reason names the value.
 */
export function elementToAdd(shape: ElementShape, raw: unknown, timeout?: number): Checked<CanonicalElement> {
  let keyRaw = raw;
  let data: Checked<unknown> | undefined;
  if (shape.kind === 'map') {
    if (!Array.isArray(raw) || raw.length !== 2) return { ok: false, reason: `${show(raw)} is not a map element: write [KEY, VALUE]` };
    keyRaw = raw[0];
    data = dataOf(shape, raw[1]);
    if (!data.ok) return { ok: false, reason: `${show(raw)}: ${data.reason}` };
  }
  let wrapper: Record<string, unknown> = {};
  if (isObject(keyRaw) && 'elem' in keyRaw) {
    const inner = keyRaw.elem;
    if (!isObject(inner) || !('val' in inner)) return { ok: false, reason: `${show(raw)}: write {"elem": {"val": VALUE, "timeout": SECONDS}}` };
    const extra = Object.keys(inner).find((k) => !ELEM_KEYS.has(k));
    if (extra !== undefined) return { ok: false, reason: `${show(raw)}: unknown key ${show(extra)} in elem (val, timeout and comment are kept)` };
    const { val, ...rest } = inner;
    keyRaw = val;
    wrapper = rest;
  }
  if (wrapper.timeout === undefined && timeout !== undefined) wrapper = { ...wrapper, timeout };
  if (wrapper.timeout !== undefined) {
    if (!shape.timeout) return { ok: false, reason: `${show(raw)}: a timeout needs a set with flags timeout, and this one has none` };
    if (typeof wrapper.timeout !== 'number' || !Number.isInteger(wrapper.timeout) || wrapper.timeout < 1 || wrapper.timeout > MAX_TIMEOUT_SECONDS) return { ok: false, reason: `${show(raw)}: the timeout must be a whole number of seconds, at least 1 and at most ${MAX_TIMEOUT_SECONDS}` };
  }
  if (wrapper.comment !== undefined) {
    const c = wrapper.comment;
    if (typeof c !== 'string' || c.length > 128 || Buffer.byteLength(c) > MAX_COMMENT_BYTES || c.includes('\u0000') || LONE_SURROGATE.test(c)) {
      return { ok: false, reason: `${show(raw)}: a comment is a string of at most 128 characters and ${MAX_COMMENT_BYTES} bytes of UTF-8, without NUL characters or unpaired surrogates` };
    }
  }
  const key = keyOf(shape, keyRaw);
  if (!key.ok) return key;
  const stored = Object.keys(wrapper).length > 0 ? { elem: { val: key.value.value, ...wrapper } } : key.value.value;
  return { ok: true, value: { id: key.value.id, value: shape.kind === 'map' ? [stored, (data as { value: unknown }).value] : stored } };
}

/**
 * The id of an element to delete: its key alone, written any way elementToAdd accepts (a map's
 * value and a timeout may be given, and are ignored).
 */
export function elementToDelete(shape: ElementShape, raw: unknown): Checked<string> {
  let keyRaw = shape.kind === 'map' && Array.isArray(raw) && raw.length === 2 ? raw[0] : raw;
  if (isObject(keyRaw) && isObject(keyRaw.elem) && 'val' in keyRaw.elem) keyRaw = keyRaw.elem.val;
  const key = keyOf(shape, keyRaw);
  return key.ok ? { ok: true, value: key.value.id } : key;
}

/**
 * The id of an element already in a ruleset file, however it was written; one nothing reads
 * gets an id of its exact JSON (so it is matched only by the same text). Never fails.
 */
export function storedElementId(shape: ElementShape, raw: unknown): string {
  // The common case of a big blocklist (a plain address in a plain set), without the general path's objects.
  if (typeof raw === 'string' && shape.kind === 'set' && !shape.interval && shape.key.length === 1 && shape.key[0] !== 'inet_proto' && shape.key[0]! in FIELD_BYTES) {
    const hex = fieldHex(shape.key[0] as KeyField, raw);
    if (hex !== undefined) return hex;
  }
  const id = elementToDelete(shape, raw);
  if (id.ok) return id.value;
  return `j:${canonicalJson(shape.kind === 'map' && Array.isArray(raw) ? raw[0] : raw)}`;
}
