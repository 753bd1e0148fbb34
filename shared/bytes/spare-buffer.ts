/**
 * Memory for the next big text, made ready before it is needed. A fresh 25 MB Buffer costs more
 * to fill than to copy: each of its 6,000 pages faults on first touch (about 15-20 ms here for a
 * 1,000,000-element ruleset, against 3 ms for the copy itself). A SpareBuffer holds one block
 * whose pages were touched ahead of time (`prepare`, called when the owner is idle: after a pass,
 * after an answer) and hands it out once (`take`), so the hot path writes into memory that is
 * already there. The blocks are SharedArrayBuffers, so a worker thread can read the text without
 * a copy (host/blob-id-thread.ts hashes it there). Pure: no IO, no timers.
 */

/** Room a prepared block leaves over the size asked for: texts grow a little per change. */
const HEADROOM = 1.25;
const HEADROOM_MIN = 1 << 20;

/**
 * A Buffer of exactly `size` bytes over a new SharedArrayBuffer (its pages not touched yet),
 * starting `shift` bytes into it (shared/bytes/join-pieces.ts ShiftedAlloc).
 */
export function sharedBuffer(size: number, shift = 0): Buffer {
  return Buffer.from(new SharedArrayBuffer(Math.max(size + shift, 1)), shift, size);
}

/** True when `bytes` lie in a SharedArrayBuffer (a worker can read them without a copy). */
export function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
}

export class SpareBuffer {
  #block: SharedArrayBuffer | undefined;

  /** Bytes held ready now (0: none). */
  get capacity(): number {
    return this.#block?.byteLength ?? 0;
  }

  /**
   * A Buffer of exactly `size` bytes, over a SharedArrayBuffer, starting `shift` bytes into it
   * (0 to 7: shared/bytes/join-pieces.ts ShiftedAlloc), its contents unspecified (the caller
   * writes every byte): the prepared block when it is big enough and not far bigger (it is then
   * gone: each block is handed out once, so no two texts ever share memory), else a new one. A
   * block far bigger than `size` (over twice it, plus the minimum headroom: the text shrank) is
   * let go rather than handed out: the text would keep all of it alive, while whoever holds the
   * text counts only its length.
   */
  take(size: number, shift = 0): Buffer {
    const block = this.#block;
    if (block !== undefined && block.byteLength >= size + shift) {
      this.#block = undefined;
      if (block.byteLength <= 2 * size + HEADROOM_MIN) return Buffer.from(block, shift, size);
    }
    return sharedBuffer(size, shift);
  }

  /**
   * Make a block ready for a text of about `size` bytes (with headroom), its pages touched, unless
   * one big enough is held. Costs the page faults `take` then spares (call it when idle). A
   * `size` of 0 lets go of the block held.
   */
  prepare(size: number): void {
    if (size <= 0) {
      this.#block = undefined;
      return;
    }
    if (this.capacity >= size) return;
    const block = new SharedArrayBuffer(Math.ceil(Math.max(size * HEADROOM, size + HEADROOM_MIN)));
    // Writing one byte a page is enough to fault it in; fill() does it at memset speed.
    new Uint8Array(block).fill(0);
    this.#block = block;
  }
}
