/**
 * Fuzz of the wire decoding path: FrameDecoder + MessageReader + decodeMessage (and with them
 * every message schema), on both sides of the protocol, with 100,000+ generated and mutated
 * inputs (tests/helpers/fuzz-inputs.ts) fed in random chunkings. Only NftSyncError may ever be
 * thrown (never a TypeError or RangeError), and the heap must not grow without bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { NftSyncError } from '../../../../shared/errors.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { CLIENT_MESSAGE_TYPES, DEFAULT_MAX_FRAME, PRE_HANDSHAKE_MAX_FRAME, SERVER_MESSAGE_TYPES } from '../../../../shared/wire/messages.js';
import { deepJson, hostileInput, hugeString, lyingLength, mutatedFrame, mutatedMessage, randomBytesInput } from '../../../helpers/fuzz-inputs.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const RUNS = Number(process.env.NFT_SYNC_FUZZ_RUNS ?? 100_000);

/** Feed `input` in chunks cut at `cuts`, as a server (pre-handshake limit, then the full one) or a client. */
function feed(input: Buffer, cuts: number[], side: 'server' | 'client'): number {
  const reader = side === 'server' ? new MessageReader(CLIENT_MESSAGE_TYPES, PRE_HANDSHAKE_MAX_FRAME) : new MessageReader(SERVER_MESSAGE_TYPES, DEFAULT_MAX_FRAME);
  let decoded = 0;
  let at = 0;
  try {
    for (const cut of [...cuts.map((c) => c % (input.length + 1)).sort((a, b) => a - b), input.length]) {
      reader.write(input.subarray(at, Math.max(at, cut)));
      at = Math.max(at, cut);
      for (let m = reader.read(); m !== undefined; m = reader.read()) {
        decoded++;
        if (side === 'server' && m.message.type === 'hello') reader.setMaxFrame(DEFAULT_MAX_FRAME);
      }
    }
    reader.end();
  } catch (err) {
    if (!(err instanceof NftSyncError)) throw err;
  }
  return decoded;
}

test(`the decoder and message validation only ever throw NftSyncError, over ${RUNS} hostile inputs, with bounded memory`, (t) => {
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = 0;
  let runs = 0;
  let decoded = 0;
  const t0 = performance.now();
  const property = fc.property(hostileInput, fc.array(fc.nat(), { maxLength: 4 }), fc.constantFrom('server' as const, 'client' as const), (input, cuts, side) => {
    runs++;
    decoded += feed(input, cuts, side);
    if (runs % 10_000 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
  });
  fc.assert(property, { numRuns: RUNS, seed: 4242 });
  // Every generator on its own as well, so the rare ones get their share.
  for (const arb of [randomBytesInput, mutatedFrame, mutatedMessage, lyingLength, deepJson, hugeString]) {
    fc.assert(
      fc.property(arb, fc.array(fc.nat(), { maxLength: 3 }), (input, cuts) => {
        runs++;
        decoded += feed(input, cuts, 'server') + feed(input, cuts, 'client');
      }),
      { numRuns: arb === hugeString || arb === deepJson ? 300 : 2000, seed: 7 },
    );
  }
  // A frame announcing more than the limit is refused from its 4-byte length alone, however
  // the bytes are cut, and one within the limit is waited for, never refused as too large.
  fc.assert(
    fc.property(lyingLength, fc.constantFrom('server' as const, 'client' as const), fc.nat(), (input, side, cut) => {
      runs++;
      const limit = side === 'server' ? PRE_HANDSHAKE_MAX_FRAME : DEFAULT_MAX_FRAME;
      const reader = new MessageReader(side === 'server' ? CLIENT_MESSAGE_TYPES : SERVER_MESSAGE_TYPES, limit);
      const at = 4 + (cut % (input.length - 3));
      let code: string | undefined;
      try {
        reader.write(input.subarray(0, at));
        reader.read();
      } catch (err) {
        code = (err as NftSyncError).code;
      }
      if (input.readUInt32BE(0) > limit) assert.equal(code, 'NFTSYNC_ERR_FRAME_TOO_LARGE');
      else assert.notEqual(code, 'NFTSYNC_ERR_FRAME_TOO_LARGE');
    }),
    { numRuns: 2000, seed: 8 },
  );
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  const ms = Math.round(performance.now() - t0);
  assert.ok(growth < 64 * 1024 * 1024, `heap grew by ${growth} bytes`);
  assert.ok(peak < 128 * 1024 * 1024, `heap peaked ${peak} bytes above the start`);
  assert.ok(decoded > 100, `some inputs decode to valid messages (${decoded})`);
  t.diagnostic(`fuzz: ${runs} inputs, ${decoded} messages decoded, ${ms} ms, heap growth ${Math.round(growth / 1024)} KiB, peak ${Math.round(peak / 1024)} KiB`);
});
