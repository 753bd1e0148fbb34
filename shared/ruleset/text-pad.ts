/**
 * The pad at the end of a big composed ruleset text (a base with element change files:
 * compose-ruleset.ts, composed-text.ts): lines of spaces after the JSON, so that consecutive
 * texts keep the same size. Pure (one cache of pad bytes).
 *
 * Why: a text's id is its git blob id, the SHA-1 of `blob SIZE\0` and the bytes, so a text of
 * another size shares no hash state with the last one, and each 1,000-element change of a
 * 1,000,000-element set cost a whole 25 MB SHA-1 on the server and again on each agent (15-25 ms
 * of a core each, on the path from the API call to the elements in force). A change adds its
 * elements after the set's others, so two consecutive texts share everything up to them; with
 * the same size, they also share the hash state up to there (host/blob-id-thread.ts resumes
 * from it), and only the change, what follows it and the pad are hashed again.
 *
 * The size is the text's rounded up to a multiple of a unit set by the base file's size (one
 * sixteenth of it, in 64 KiB steps, at most 4 MiB), so it moves only when the changes since the
 * base grow or shrink the text across a multiple: about once per 64 changes of 1,000 elements.
 * A base under 1 MiB is not padded (its texts are hashed whole, at once). The pad is a function
 * of the base and the text alone, so every server and replica composes the same bytes.
 *
 * Form: PAD_LINE_BYTES-byte lines (spaces, then `\n`), the first of them shorter when the pad is
 * not a multiple of that: the last n bytes of a run of whole lines. So the pads of two texts share
 * their whole lines at the end, and the delta between them (shared/wire/window-delta.ts) is the
 * lines one has more and a first line of at most PAD_LINE_BYTES bytes. JSON ignores it; the agent's
 * layout of the text counts it (shared/ruleset/element-layout.ts).
 */
import { sharedBuffer } from '../bytes/spare-buffer.js';

/** Bytes of a whole line of the pad: spaces and a `\n`. */
export const PAD_LINE_BYTES = 1024;
/** A base under this is not padded. */
export const PAD_MIN_BASE_BYTES = 1 << 20;
const UNIT_STEP = 64 * 1024;
const UNIT_MAX = 4 << 20;

/** The unit a text composed on a base file of `baseBytes` bytes is padded to a multiple of; 0: none. Pure. */
export function padUnit(baseBytes: number): number {
  if (baseBytes < PAD_MIN_BASE_BYTES) return 0;
  return Math.min(UNIT_MAX, Math.ceil(baseBytes / 16 / UNIT_STEP) * UNIT_STEP);
}

/** Bytes of pad after a text of `textBytes` bytes with unit `unit` (padUnit): 1 to `unit`, or 0 when `unit` is 0. Pure. */
export function padBytes(textBytes: number, unit: number): number {
  if (unit === 0) return 0;
  return Math.ceil((textBytes + 1) / unit) * unit - textBytes;
}

/** Whole pad lines, in shared memory (a worker hashes the pad in place); grown on demand. */
let lines: Buffer | undefined;

/**
 * The pad of `n` bytes (see the header), as a view of shared memory kept for later pads: do not
 * change it. Empty for 0.
 */
export function padOf(n: number): Buffer {
  if (lines === undefined || lines.length < n) {
    const size = Math.ceil(Math.max(n, UNIT_STEP) / PAD_LINE_BYTES) * PAD_LINE_BYTES;
    const next = sharedBuffer(size);
    next.fill(0x20);
    for (let at = PAD_LINE_BYTES - 1; at < size; at += PAD_LINE_BYTES) next[at] = 0x0a;
    lines = next;
  }
  return lines.subarray(lines.length - n);
}
