/**
 * The lines of a Buffer from a position on, found as they are asked for and remembered (start,
 * end, hash) while the position moves forward: the ruleset delta encoder's look-ahead. Pure.
 *
 * A line is what lies between two `\n` (the last one possibly empty). Each line is scanned once
 * while it stays ahead of the position: its first HASHED bytes are hashed in JavaScript (FNV-1a,
 * with the length mixed in), the rest of it is skipped with a native search for its `\n`. Lines
 * that differ in length or hash are told apart without touching their bytes again; `sameLine`
 * confirms the others byte by byte.
 */

/** Bytes of a line that go into its hash (a blocklist element's line is 15–30 bytes). */
const HASHED = 64;

/** A look-ahead over the lines of `buf` from a position that only moves forward (see above). Never throws. */
export class LineWindow {
  private readonly mask: number;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly hashes: Int32Array;
  private head = 0;
  private held = 0;
  /** Start of the line after the last one held (buf.length + 1: none, the file's end). */
  private next = 0;

  /** A window over `buf` holding up to `size` lines ahead of its position (rounded up to a power of 2). */
  constructor(
    readonly buf: Buffer,
    size: number,
  ) {
    let cap = 1;
    while (cap < size) cap *= 2;
    this.mask = cap - 1;
    this.starts = new Float64Array(cap);
    this.ends = new Float64Array(cap);
    this.hashes = new Int32Array(cap);
  }

  /** Move to `pos`, a line start at or after the current position: lines already found from there on are kept. */
  moveTo(pos: number): void {
    while (this.held > 0 && this.starts[this.head]! < pos) {
      this.head = (this.head + 1) & this.mask;
      this.held--;
    }
    if (this.held === 0 || this.starts[this.head] !== pos) {
      this.held = 0;
      this.next = pos;
    }
  }

  /**
   * The slot of the line `d` lines after the position (0: the line at it), for start/end/hash
   * and sameLine; -1 when the file ends before it. `d` must be below the window's size.
   */
  at(d: number): number {
    return d < this.held ? (this.head + d) & this.mask : this.find(d);
  }

  /** at(d) for a line not found yet: scan the lines up to it. */
  private find(d: number): number {
    const buf = this.buf;
    while (this.held <= d) {
      const s = this.next;
      if (s > buf.length) return -1;
      let h = 0x811c9dc5 | 0;
      let p = s;
      const lim = Math.min(buf.length, s + HASHED);
      for (; p < lim; p++) {
        const c = buf[p]!;
        if (c === 10) break;
        h = Math.imul(h ^ c, 0x01000193);
      }
      let e = p;
      if (p === lim && p < buf.length) {
        const nl = buf.indexOf(10, p);
        e = nl < 0 ? buf.length : nl;
      }
      const slot = (this.head + this.held) & this.mask;
      this.starts[slot] = s;
      this.ends[slot] = e;
      this.hashes[slot] = Math.imul(h ^ (e - s), 0x01000193);
      this.held++;
      this.next = e + 1;
    }
    return (this.head + d) & this.mask;
  }

  /** Byte offset where the line in `slot` starts. */
  start(slot: number): number {
    return this.starts[slot]!;
  }

  /** Byte offset where the line in `slot` ends: its `\n`, or buf.length for the last line. */
  end(slot: number): number {
    return this.ends[slot]!;
  }

  /** Whether the line in `slot` of this window has the same bytes as the line in `other`'s slot `o`. */
  sameLine(slot: number, other: LineWindow, o: number): boolean {
    return this.hashes[slot] === other.hashes[o] && this.sameBytes(slot, other, o);
  }

  /** sameLine once the hashes agree: the lengths and the bytes. */
  private sameBytes(slot: number, other: LineWindow, o: number): boolean {
    const s = this.starts[slot]!;
    const len = this.ends[slot]! - s;
    const t = other.starts[o]!;
    if (len !== other.ends[o]! - t) return false;
    const a = this.buf;
    const b = other.buf;
    if (len <= HASHED) {
      for (let k = 0; k < len; k++) if (a[s + k] !== b[t + k]) return false;
      return true;
    }
    return a.compare(b, t, t + len, s, s + len) === 0;
  }
}
