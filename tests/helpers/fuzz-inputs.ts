/**
 * Generators of hostile wire input for the fuzz tests: random bytes, valid frames with mutated
 * bytes, valid messages with mutated fields, lying or oversized length headers, deeply nested
 * JSON and huge strings. Deterministic for a given seed.
 */
import fc from 'fast-check';
import { encodeFrame } from '../../shared/wire/frame-decoder.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import type { Message } from '../../shared/wire/messages.js';

const OID = 'a'.repeat(40);

/** One valid message of every type, as seeds for mutation. */
export const SEED_MESSAGES: Array<{ message: Message; body?: Buffer }> = [
  { message: { type: 'hello', versions: [1], agent: 'host-1', software: 'nft-sync' } },
  { message: { type: 'fetch', id: 1, ref: 'main', ruleset: 'default', have: { commit: OID, blob: OID } } },
  { message: { type: 'subscribe', id: 2, ref: 'refs/heads/main' } },
  { message: { type: 'ping', id: 3 } },
  {
    message: {
      type: 'report',
      id: 4,
      status: { agent: 'host-1', ref: 'main', ruleset: 'default', commit: OID, blob: OID, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] },
    },
  },
  { message: { type: 'welcome', version: 1, server: 's', maxFrame: 1 << 20, heartbeat: 15000 } },
  { message: { type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit: OID, blob: OID, size: 2 }, body: Buffer.from('{}') },
  { message: { type: 'unchanged', id: 1, ref: 'main', ruleset: 'default', commit: OID, blob: OID } },
  { message: { type: 'moved', ref: 'main', commit: OID } },
  { message: { type: 'pong', id: 3 } },
  { message: { type: 'error', id: 1, code: 'NFTSYNC_ERR_REF_NOT_FOUND', message: 'no', retryable: false, fatal: false } },
];

const seed = fc.constantFrom(...SEED_MESSAGES);
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, -1, 2 ** 53, 1e308, -0, '', '\u0000', '../../etc', 'a'.repeat(70_000), [], {}),
  fc.string({ maxLength: 64 }),
  fc.integer(),
);

/** A valid message with one field replaced, removed or added. */
export const mutatedMessage: fc.Arbitrary<Buffer> = fc.tuple(seed, fc.nat(), hostileValue, fc.constantFrom('replace', 'delete', 'add', 'nested')).map(([s, n, value, how]) => {
  const m = structuredClone(s.message) as unknown as Record<string, unknown>;
  const keys = Object.keys(m);
  const key = keys[n % keys.length]!;
  if (how === 'replace') m[key] = value;
  else if (how === 'delete') delete m[key];
  else if (how === 'add') m[`x${n % 7}`] = value;
  else if (typeof m.status === 'object' && m.status !== null) (m.status as Record<string, unknown>)[keys[n % keys.length]!] = value;
  else m[key] = { value };
  const header = Buffer.from(JSON.stringify(m));
  return encodeFrame(s.body ? Buffer.concat([header, Buffer.from([0]), s.body]) : header);
});

/** A valid frame with bytes flipped, inserted, removed, or cut short. */
export const mutatedFrame: fc.Arbitrary<Buffer> = fc
  .tuple(seed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete')), { minLength: 1, maxLength: 6 }), fc.option(fc.nat()))
  .map(([s, edits, cut]) => {
    let b = Array.from(encodeMessage(s.message, s.body));
    for (const [pos, byte, how] of edits) {
      const i = pos % (b.length + 1);
      if (how === 'flip') b[i % b.length] = byte;
      else if (how === 'insert') b.splice(i, 0, byte);
      else b.splice(i % b.length, 1);
    }
    if (cut !== null) b = b.slice(0, cut % (b.length + 1));
    return Buffer.from(b);
  });

/** A length header that lies: too big, huge, zero, or shorter than the payload. */
export const lyingLength: fc.Arbitrary<Buffer> = fc.tuple(seed, fc.constantFrom(0, 1, 3, 0xffff_ffff, 0x7fff_ffff, 65_537, 16_777_217), fc.boolean()).map(([s, length, extra]) => {
  const frame = encodeMessage(s.message, s.body);
  frame.writeUInt32BE(length, 0);
  return extra ? Buffer.concat([frame, frame]) : frame;
});

/** Deeply nested JSON in a field, or as the whole header. */
export const deepJson: fc.Arbitrary<Buffer> = fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.boolean(), fc.boolean()).map(([depth, open, whole, closed]) => {
  const close = open === '[' ? ']' : '}';
  const nest = `${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`;
  const text = whole ? nest : `{"type":"report","id":1,"status":{"agent":"a","ref":"main","state":"Applied","conditions":[${nest}]}}`;
  return encodeFrame(Buffer.from(text));
});

/** Huge strings in fields (below and above the frame limits). */
export const hugeString: fc.Arbitrary<Buffer> = fc.tuple(seed, fc.constantFrom(60_000, 200_000, 1_500_000), fc.nat()).map(([s, n, k]) => {
  const m = structuredClone(s.message) as unknown as Record<string, unknown>;
  const keys = Object.keys(m);
  m[keys[k % keys.length]!] = 'x'.repeat(n);
  return encodeFrame(Buffer.from(JSON.stringify(m)));
});

/** Plain random bytes. */
export const randomBytesInput: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a));

/** Any of the above, weighted toward the cheap ones. */
export const hostileInput: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: randomBytesInput, weight: 30 },
  { arbitrary: mutatedFrame, weight: 30 },
  { arbitrary: mutatedMessage, weight: 30 },
  { arbitrary: lyingLength, weight: 6 },
  { arbitrary: deepJson, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
);
