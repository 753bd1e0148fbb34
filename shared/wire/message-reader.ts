/**
 * Turns a byte stream into validated messages: the frame decoder and the message decoder in one,
 * with the frame limit that applies at each stage of the exchange. Pure: the transport feeds it
 * chunks and acts on what comes out.
 */
import { FrameDecoder } from './frame-decoder.js';
import { decodeMessage, type DecodedMessage } from './message-codec.js';
import type { Message } from './messages.js';

export class MessageReader<T extends Message> {
  readonly #frames: FrameDecoder;
  readonly #allowed: ReadonlySet<string>;

  /** `allowed` are the message types this side accepts; `maxFrame` the initial frame limit. */
  constructor(allowed: ReadonlySet<string>, maxFrame: number) {
    this.#allowed = allowed;
    this.#frames = new FrameDecoder(maxFrame);
  }

  /** Raise or lower the frame limit (after the handshake). */
  setMaxFrame(maxFrame: number): void {
    this.#frames.setMaxFrame(maxFrame);
  }

  /**
   * Feed a chunk; returns the messages it completes, in order. Throws the first framing or
   * message error (NFTSYNC_ERR_FRAME_TOO_LARGE, NFTSYNC_ERR_MSG_MALFORMED, NFTSYNC_ERR_MSG_INVALID);
   * messages decoded before the bad frame in the same chunk are lost with it, which is fine
   * because the connection is closed on any such error.
   */
  push(chunk: Uint8Array): DecodedMessage<T>[] {
    return this.#frames.push(chunk).map((payload) => decodeMessage<T>(payload, this.#allowed));
  }

  /** Bytes of an unfinished frame buffered so far (0 between frames). */
  get pendingBytes(): number {
    return this.#frames.pendingBytes;
  }

  /** Buffer a chunk; take the messages out one by one with read(). */
  write(chunk: Uint8Array): void {
    this.#frames.write(chunk);
  }

  /**
   * The next complete message, or undefined when more bytes are needed. Reading one at a time
   * lets the caller change the frame limit between messages (after hello, before the frame
   * pipelined behind it). Throws as push() does.
   */
  read(): DecodedMessage<T> | undefined {
    const payload = this.#frames.read();
    return payload === undefined ? undefined : decodeMessage<T>(payload, this.#allowed);
  }

  /** Call at end of stream; throws NFTSYNC_ERR_FRAME_TRUNCATED if a frame was left unfinished. */
  end(): void {
    this.#frames.end();
  }
}
