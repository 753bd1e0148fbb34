/**
 * Frame codec of the nft-sync wire protocol.
 *
 * Grammar:   frame   = length payload
 *            length  = 4 bytes, unsigned, big-endian: the number of payload bytes (the length
 *                      field itself is not counted, unlike the 2014 prototype)
 *            payload = `length` bytes (see message-codec.ts for what a payload holds)
 *
 * Limits: a frame whose length exceeds `maxFrame` is refused as soon as its 4-byte header is
 * seen, before any byte of it is buffered, so a header claiming gigabytes allocates nothing.
 * A zero-length frame is legal at this layer (the message layer refuses it).
 *
 * Example: the payload `{"type":"ping"}` (15 bytes) travels as 00 00 00 0f 7b 22 74 ...
 *
 * The decoder is pure: it is fed byte chunks however the transport splits them (a frame split
 * across many reads, many frames in one read) and returns the complete frames found so far.
 */

import { NftSyncError } from '../errors.js';

/** "HTTP" read as a frame length: the peer answered with HTTP (a client pointed at --http). */
const HTTP_AS_LENGTH = 0x48545450;
const HTTP_HINT = ': the peer speaks HTTP; --server takes the wire protocol port (the server\'s --listen), not --http';

/** Bytes in the length header. */
export const FRAME_HEADER_BYTES = 4;
/** Largest length the 4-byte header can express. */
export const FRAME_LENGTH_MAX = 0xffff_ffff;

/** Encode one frame: the 4-byte big-endian length of `payload`, then `payload`. */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > FRAME_LENGTH_MAX) {
    throw new NftSyncError('NFTSYNC_ERR_FRAME_TOO_LARGE', `payload of ${payload.length} bytes cannot be framed`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental frame decoder. `push()` returns the frames completed by the chunk; it throws
 * NFTSYNC_ERR_FRAME_TOO_LARGE when a header announces more than `maxFrame` bytes, after which
 * the decoder is unusable (the stream cannot be resynchronised; close the connection).
 */
export class FrameDecoder {
  #maxFrame: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;

  constructor(maxFrame: number) {
    this.#maxFrame = maxFrame;
  }

  /** Change the limit, e.g. from the small pre-handshake limit to the negotiated one. */
  setMaxFrame(maxFrame: number): void {
    this.#maxFrame = maxFrame;
  }

  get maxFrame(): number {
    return this.#maxFrame;
  }

  /** Bytes received but not yet returned as a frame. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  /**
   * Feed a chunk; returns every frame it completes, in order. Every frame is checked against the
   * limit in force when it is reached; use write() and read() to change the limit between frames.
   */
  push(chunk: Uint8Array): Buffer[] {
    this.write(chunk);
    const frames: Buffer[] = [];
    for (let f = this.read(); f !== undefined; f = this.read()) frames.push(f);
    return frames;
  }

  /** Buffer a chunk without decoding anything yet. */
  write(chunk: Uint8Array): void {
    if (this.#failed) throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', 'frame decoder used after a framing error');
    if (chunk.length === 0) return;
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed. Throws
   * NFTSYNC_ERR_FRAME_TOO_LARGE as soon as a header over the current limit is seen.
   */
  read(): Buffer | undefined {
    if (this.#failed) throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', 'frame decoder used after a framing error');
    if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
    const length = this.#peekLength();
    if (length > this.#maxFrame) {
      this.#failed = true;
      this.#chunks = [];
      this.#buffered = 0;
      throw new NftSyncError(
        'NFTSYNC_ERR_FRAME_TOO_LARGE',
        `frame of ${length} bytes exceeds the limit of ${this.#maxFrame} bytes${length === HTTP_AS_LENGTH ? HTTP_HINT : ''}`,
        { data: { length, limit: this.#maxFrame } },
      );
    }
    if (this.#buffered < FRAME_HEADER_BYTES + length) return undefined;
    this.#take(FRAME_HEADER_BYTES);
    return this.#take(length);
  }

  /**
   * Call when the stream ended. Throws NFTSYNC_ERR_FRAME_TRUNCATED if a frame was started but not
   * finished.
   */
  end(): void {
    if (this.#buffered > 0 && !this.#failed) {
      const have = this.#buffered;
      this.#chunks = [];
      this.#buffered = 0;
      throw new NftSyncError('NFTSYNC_ERR_FRAME_TRUNCATED', `stream ended with ${have} bytes of an unfinished frame`);
    }
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const head = Buffer.alloc(FRAME_HEADER_BYTES);
    let filled = 0;
    for (const c of this.#chunks) {
      const n = Math.min(c.length, FRAME_HEADER_BYTES - filled);
      c.copy(head, filled, 0, n);
      filled += n;
      if (filled === FRAME_HEADER_BYTES) break;
    }
    return head.readUInt32BE(0);
  }

  /** Remove and return the next `n` bytes (n <= buffered). Copies only when a frame spans chunks. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}
