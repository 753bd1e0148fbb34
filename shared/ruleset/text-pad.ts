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
 * The size is rounded up to a multiple of a unit set by the base file's size (one sixteenth of it,
 * in 64 KiB steps, at most 4 MiB), from what the text may hold at most: the base, rendered, and a
 * line for every element any change file added (padFloor). That only grows, change after change, so
 * deletes never shrink the size (adding and deleting the same elements around a multiple would
 * otherwise move it, and a pad of a whole unit, at every other change), and it moves only when the
 * elements added since the base cross a multiple: about once per 60 changes of 1,000 elements
 * (then the hash is whole and the delta carries the unit of new pad: about 1.5 MB for a
 * 1,000,000-element set). A base under 1 MiB is not padded (its texts are hashed whole, at once).
 * An element counts once, at its longest, however often it is added again (churn: the same
 * addresses added and deleted, timeouts refreshed), so churn of less than a unit of lines never
 * moves the size; the floor counts only up to a unit above the text (padBytes: more churn than
 * that, or many distinct elements added and deleted again), so the pad is at most two units. The pad is a function of the
 * base and its change files alone, so every server and replica composes the same bytes.
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
/** The largest unit. */
const UNIT_MAX = 4 << 20;
/** The most pad a text gets: two units (padBytes). */
export const PAD_MAX_BYTES = 2 * UNIT_MAX;

/** The unit a text composed on a base file of `baseBytes` bytes is padded to a multiple of; 0: none. Pure. */
export function padUnit(baseBytes: number): number {
  if (baseBytes < PAD_MIN_BASE_BYTES) return 0;
  return Math.min(UNIT_MAX, Math.ceil(baseBytes / 16 / UNIT_STEP) * UNIT_STEP);
}

/**
 * Bytes a change file's added element may add to the text, beyond its JSON: renderRuleset writes
 * a set's elements indented by 10 spaces, each but the last followed by `,` and each by `\n`.
 */
export const ADDED_LINE_EXTRA = 12;

/**
 * What padFloor counts of a composed text: its base's share (floorBase), and the elements its
 * change files add (countAdded; compose-ruleset.ts composeRuleset and composed-text.ts count them
 * alike). Start from newFloorCount().
 */
export interface FloorCount {
  base: number;
  /** The JSON bytes of every element added (canonical, as element-value.ts writes it), each at its longest. */
  json: number;
  /** How many distinct elements were added. */
  count: number;
  /** The longest JSON of each element added, by set and element id (countAdded's). */
  longest: Map<string, Map<string, number>>;
}

/** A FloorCount of nothing added, on a base of share `base` (floorBase). Pure. */
export function newFloorCount(base = 0): FloorCount {
  return { base, json: 0, count: 0, longest: new Map() };
}

/**
 * Count an element added to a set: `set` and `id` name it (a set's address and element id, as the
 * caller writes them), `json` is the bytes of its JSON. The text holds it on one line at most,
 * with its last value, so it counts once, at its longest: adding it again, or with a timeout of
 * fewer digits, adds nothing. Pure but for `c`.
 */
export function countAdded(c: FloorCount, set: string, id: string, json: number): void {
  let ids = c.longest.get(set);
  if (ids === undefined) c.longest.set(set, (ids = new Map()));
  const was = ids.get(id);
  if (was === undefined) {
    c.count += 1;
    c.json += json;
    ids.set(id, json);
  } else if (json > was) {
    c.json += json - was;
    ids.set(id, json);
  }
}

/** A copy of `c` that counts on without changing it. Pure. */
export function copyFloorCount(c: FloorCount): FloorCount {
  return { ...c, longest: new Map([...c.longest].map(([set, ids]) => [set, new Map(ids)])) };
}

/**
 * The base's share of the floor: the bytes of renderRuleset's text of the base file, which a
 * composed text starts from. A base that looks like a text composed here and stored by a fold (a
 * multiple of the unit step in size, its JSON ending as renderRuleset ends it, `\n  ]\n}`, then a
 * newline and a pad, padOf's) is already in that form: its bytes up to the pad, found without
 * rendering (a file ending in a blank line or two is not taken for one: `\n` and ` \n` are pads). Any other (one line, as `nft -j list ruleset` prints it; other indentation)
 * is measured by `rendered`, called only then: counting its bytes as written would put the floor
 * below the text, and adding and deleting the same elements around a multiple would move the size
 * at each change until the first fold. 0 for a base padUnit does not pad. Pure but for `rendered`.
 */
export function floorBase(base: Buffer, rendered: () => number): number {
  if (padUnit(base.length) === 0) return 0;
  const json = base.lastIndexOf(0x7d) + 1;
  const pad = base.length - json - 1;
  const folded = base.length % UNIT_STEP === 0 && json >= 6 && base.toString('latin1', json - 6, json) === '\n  ]\n}';
  if (folded && pad >= 1 && pad <= PAD_MAX_BYTES && base[json] === 0x0a && base.subarray(json + 1).equals(padOf(pad))) return json + 1;
  return rendered();
}

/**
 * The most a text counted by `c` may hold: its base rendered (floorBase) and a line per element its
 * change files added (its longest JSON and ADDED_LINE_EXTRA). Deletes only make the text shorter. Pure.
 */
export function padFloor(c: FloorCount): number {
  return c.base + c.json + c.count * ADDED_LINE_EXTRA;
}

/**
 * Bytes of pad after a text of `textBytes` bytes with unit `unit` (padUnit) and floor `floor`
 * (padFloor): the text and the pad make the next multiple of the unit past the larger of the two,
 * the floor counting at most one unit past the text; so 1 to 2 * `unit` bytes (PAD_MAX_BYTES at
 * most), and 0 when `unit` is 0. The cap: elements added and deleted again, or given a new
 * timeout, raise the floor but not the text, and the pad would grow with them until a fold (20%
 * of the ruleset, measured, with timeouts refreshed through the API); once they pass a unit, the
 * size follows the text again, a unit above it. Pure.
 */
export function padBytes(textBytes: number, unit: number, floor = 0): number {
  if (unit === 0) return 0;
  return Math.ceil((Math.max(textBytes, Math.min(floor, textBytes + unit)) + 1) / unit) * unit - textBytes;
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
