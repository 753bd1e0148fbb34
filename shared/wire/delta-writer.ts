/**
 * The text of a ruleset delta (grammar in shared/wire/ruleset-delta.ts), written as the encoder
 * walks the files: runs of the same operation merged, the inserted lines taken from the target
 * as byte ranges (not strings), the size known at every step so that the walk can stop as soon
 * as the delta is too big. Pure.
 */

/** The delta's first line. */
export const MAGIC = 'nft-sync-delta 1';

/** Bytes of the line of an operation on `n` lines (none for 0). */
function opSize(n: number): number {
  if (n === 0) return 0;
  let size = 4;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) size++;
  return size;
}

/**
 * The delta's text, built as the walk goes. The operations are given in base order; deletions and
 * insertions between two copies are written as one `-` then one `+` (the decoder makes one edit of
 * them either way). Never throws.
 */
export class DeltaWriter {
  private readonly parts: Buffer[] = [];
  private text = `${MAGIC}\n`;
  private written = 0; // bytes in parts
  private copied = 0; // pending `=` lines
  private removed = 0; // pending `-` lines
  private added = 0; // pending `+` lines: target bytes [from, to), `to` the start of the line after them
  private from = 0;
  private to = 0;

  constructor(private readonly target: Buffer) {}

  /** Bytes of the delta so far, pending operations included. */
  size(): number {
    return this.written + this.text.length + opSize(this.copied) + opSize(this.removed) + opSize(this.added) + (this.added > 0 ? this.to - this.from : 0);
  }

  /** Copy the next `n` base lines. */
  copy(n: number): void {
    if (this.removed > 0 || this.added > 0) this.flushChange();
    this.copied += n;
  }

  /** Skip the next `n` base lines. */
  remove(n: number): void {
    if (this.copied > 0) this.flushCopy();
    this.removed += n;
  }

  /**
   * Insert the `n` target lines in [from, to) (`to` the start of the line after them, or
   * target.length + 1 after the last). Insertions since the last copy must follow each other in
   * the target (`from` the previous `to`): they are one range.
   */
  insert(from: number, to: number, n: number): void {
    if (this.copied > 0) this.flushCopy();
    if (this.added === 0) this.from = from;
    this.to = to;
    this.added += n;
  }

  /** The delta's bytes. */
  finish(): Buffer {
    this.flushCopy();
    this.flushChange();
    this.parts.push(Buffer.from(this.text));
    return Buffer.concat(this.parts);
  }

  private flushCopy(): void {
    if (this.copied > 0) this.text += `= ${this.copied}\n`;
    this.copied = 0;
  }

  private flushChange(): void {
    if (this.removed > 0) this.text += `- ${this.removed}\n`;
    if (this.added > 0) {
      this.text += `+ ${this.added}\n`;
      const lines = this.target.subarray(this.from, this.to - 1);
      this.parts.push(Buffer.from(this.text), lines);
      this.written += this.text.length + lines.length;
      this.text = '\n';
    }
    this.removed = 0;
    this.added = 0;
  }
}
