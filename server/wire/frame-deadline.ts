/**
 * Deadlines against slow clients that a socket idle timeout cannot catch: a client that
 * trickles one byte every few seconds is never idle, yet would hold its connection (and a slot
 * of the per-address cap) forever. Two absolute deadlines close that hole: the handshake must
 * complete within its timeout of the connection opening, and once the first byte of a frame
 * has arrived the whole frame must arrive within the frame timeout.
 */
export class FrameDeadline {
  readonly #frameMs: number;
  readonly #onExpire: (why: string) => void;
  #handshake: NodeJS.Timeout | undefined;
  #frame: NodeJS.Timeout | undefined;

  /**
   * Start the handshake deadline now. `onExpire` is called at most once per deadline, with a
   * sentence saying which one passed. A timeout of 0 turns that deadline off.
   */
  constructor(handshakeMs: number, frameMs: number, onExpire: (why: string) => void) {
    this.#frameMs = frameMs;
    this.#onExpire = onExpire;
    if (handshakeMs > 0) {
      this.#handshake = setTimeout(() => onExpire(`no complete hello within ${handshakeMs} ms of connecting`), handshakeMs);
      this.#handshake.unref();
    }
  }

  /** The handshake is done: its deadline no longer applies. */
  handshakeDone(): void {
    clearTimeout(this.#handshake);
    this.#handshake = undefined;
  }

  /** Call after every chunk with the bytes of an unfinished frame left buffered (0: none). */
  update(pendingBytes: number): void {
    if (pendingBytes === 0) {
      clearTimeout(this.#frame);
      this.#frame = undefined;
    } else if (this.#frame === undefined && this.#frameMs > 0) {
      this.#frame = setTimeout(() => this.#onExpire(`a frame took longer than ${this.#frameMs} ms to arrive`), this.#frameMs);
      this.#frame.unref();
    }
  }

  /** Stop both deadlines (connection closed). */
  clear(): void {
    clearTimeout(this.#handshake);
    clearTimeout(this.#frame);
  }
}
