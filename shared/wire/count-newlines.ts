/**
 * Counting `\n` bytes in a range of a Buffer, four bytes at a time. Pure.
 *
 * The ruleset delta encoder counts the lines of every run it copies: all of the base, 15–25 MB
 * for a 1,000,000-element set. A byte loop takes about 35 ms there and a native `indexOf` per
 * line about 15 ms; reading 32-bit words and finding the newline bytes in each with integer
 * arithmetic ("SWAR") takes about 7 ms.
 */

const NL4 = 0x0a0a0a0a;
const LOW7 = 0x7f7f7f7f;
/** Words summed into the byte lanes of one accumulator before it is emptied (a lane holds at most 255). */
const LANE_WORDS = 252;

/**
 * The number of `\n` bytes in `buf[from, to)`. `from` and `to` are clamped to the buffer; an
 * empty or reversed range counts 0. Never throws.
 */
export function countNewlines(buf: Uint8Array, from: number, to: number): number {
  let i = Math.max(0, from);
  const end = Math.min(buf.length, to);
  let n = 0;
  const off = buf.byteOffset;
  // Bytes before the first 4-byte aligned address, one by one.
  while (i < end && ((off + i) & 3) !== 0) {
    if (buf[i] === 10) n++;
    i++;
  }
  const w1 = (off + end) >>> 2; // words wholly inside the range end before this word
  let q = (off + i) >>> 2;
  if (q < w1) {
    const words = new Int32Array(buf.buffer, 0, w1);
    while (q < w1) {
      const stop = Math.min(w1, q + LANE_WORDS);
      let acc = 0;
      for (; q < stop; q++) {
        // x has a zero byte where the word has '\n'; the expression sets the top bit of exactly
        // those bytes (no borrow between lanes: the low 7 bits are added separately).
        const x = words[q]! ^ NL4;
        acc = (acc + (~(((x & LOW7) + LOW7) | x | LOW7) >>> 7)) | 0;
      }
      n += (acc & 0xff) + ((acc >>> 8) & 0xff) + ((acc >>> 16) & 0xff) + (acc >>> 24);
    }
    i = (w1 << 2) - off;
  }
  for (; i < end; i++) if (buf[i] === 10) n++;
  return n;
}
