/**
 * A ruleset sent as a delta against a revision the agent already holds: a line-based edit
 * script over the file's bytes. Pure.
 *
 * Grammar (UTF-8 text; a "line" is what lies between two `\n`, the last one possibly empty):
 *
 *     nft-sync-delta 1\n
 *     = N\n            copy the next N lines of the base
 *     - N\n            skip the next N lines of the base
 *     + N\n LINE\n ... insert the N lines that follow (each ends with \n in the delta)
 *
 * The base must be consumed exactly, and the result is the lines joined by `\n`. Example: base
 * `a\nb\nc` and target `a\nx\nc` give `nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n`.
 *
 * The edit script is found by walking both files side by side over their bytes: equal runs are
 * skipped with native comparisons (shared/wire/common-prefix-length.ts) and their lines counted
 * (shared/wire/count-newlines.ts); only where they differ are lines looked at (LineWindow):
 * up to RESYNC_WINDOW lines ahead in each for lines inserted, deleted or replaced one for one in
 * place (a blocklist written one element a line, changed at random places: a few bytes per
 * changed element), up to FEW for a few lines replaced by a few others, then further, for the
 * two lines at hand in the other file (a block inserted, deleted or moved). That far search
 * scans at most SEARCH_CREDIT bytes plus twice the bytes walked, so the whole is linear. The
 * script is not minimal: a rewritten block is sent as deleted and inserted, and when the delta
 * would not be under half of the target, there is none (the full ruleset goes). The receiver
 * checks the rebuilt bytes against the announced length and blob id as usual.
 */
import { isUtf8 } from 'node:buffer';
import { NftSyncError } from '../errors.js';
import { joinPieces, type ShiftedAlloc } from '../bytes/join-pieces.js';
import { commonPrefixLength } from './common-prefix-length.js';
import { countNewlines } from './count-newlines.js';
import { DeltaWriter, MAGIC } from './delta-writer.js';
import { trailingSpaceLines } from '../bytes/trailing-space-lines.js';
import { LineWindow } from './line-window.js';

/** Lines looked at ahead in each file for a line inserted, deleted or replaced in place. */
const RESYNC_WINDOW = 32;
/** Lines looked at ahead in each file for a few lines replaced by a few others. */
const FEW = 4;
/** Bytes the far search may scan before it has walked any (then twice the bytes walked more). */
const SEARCH_CREDIT = 1 << 20;
/** The far search's first range, in bytes ahead in each file; it grows 4 times a round. */
const SEARCH_FIRST = 16 << 10;
/** Longest two lines the far search looks for (longer ones are left to the look-ahead). */
const NEEDLE_MAX = 4096;
/** Files this long or longer get no delta: a count could pass the grammar's 9 digits. */
const FILE_MAX = 999_999_999;

/**
 * The start of the first line in `hay` from `from` on (never `from` itself) that begins with the
 * bytes of `needle` without its leading `\n`, searching the bytes [from, to); -1 when none.
 */
function findLines(hay: Buffer, needle: Buffer, from: number, to: number): number {
  if (to - from < needle.length) return -1;
  const at = hay.subarray(from, to).indexOf(needle);
  return at < 0 ? -1 : from + at + 1;
}

/** The two lines at the window's position with the `\n` before and after them, or undefined (too long, or not both ended by `\n`). */
function needleAt(w: LineWindow): Buffer | undefined {
  const s0 = w.at(0);
  const s1 = w.at(1);
  if (s0 < 0 || s1 < 0) return undefined;
  const start = w.start(s0);
  const end = w.end(s1);
  if (end >= w.buf.length || end + 1 - start > NEEDLE_MAX) return undefined;
  return start > 0 ? w.buf.subarray(start - 1, end + 1) : Buffer.concat([Buffer.from('\n'), w.buf.subarray(0, end + 1)]);
}

/**
 * The delta turning `base` into `target`, or undefined when it would not be under half of
 * `target`'s size (send the whole ruleset then), or either is not UTF-8 text (or 999,999,999
 * bytes or more). Never throws. Linear in the files' size: 10–20 ms for a 1,000-line change
 * to a 1,000,000-line file.
 *
 * Texts that end with lines of spaces (the pad of a big composed ruleset: shared/ruleset/
 * text-pad.ts) are walked in two parts, the text before those lines and the lines themselves, so
 * that no edit spans both: the agent takes edits of a set's elements and of the pad as a hint of
 * what changed (shared/ruleset/element-hint.ts), never one that mixes them, and a set near the
 * end of the text would otherwise have its last lines paired with pad lines.
 */
export function encodeRulesetDelta(base: Buffer, target: Buffer): Buffer | undefined {
  if (base.length >= FILE_MAX || target.length >= FILE_MAX || !isUtf8(base) || !isUtf8(target)) return undefined;
  const pa = trailingSpaceLines(base);
  const pb = trailingSpaceLines(target);
  const ends = base[base.length - 1] === 10 && target[target.length - 1] === 10;
  if (!ends || (pa === base.length && pb === target.length)) return encodeLines(base, target, target.length);
  // Each text's last line before the pad is followed by the pad's first: the text without its
  // last `\n` and the pad (whose last line is the text's empty last one) split its lines in two.
  const text = encodeLines(base.subarray(0, pa - 1), target.subarray(0, pb - 1), target.length);
  // The pad's walk stops as soon as the whole delta would not be under half of the target (the
  // text's delta counted; the pad's header is not in it).
  const pad = text && encodeLines(base.subarray(pa), target.subarray(pb), target.length - 2 * (text.length - MAGIC.length - 1));
  if (text !== undefined && pad !== undefined) return Buffer.concat([text, pad.subarray(MAGIC.length + 1)]);
  // Lines of spaces at the end of one text only (the other has none, or more than
  // trailingSpaceLines takes for a pad): walked whole, as before, they may still pair up.
  return (pa === base.length) !== (pb === target.length) ? encodeLines(base, target, target.length) : undefined;
}

/** The delta turning `base` into `target` (encodeRulesetDelta's walk), or undefined once it would not be under half of `half` bytes. */
function encodeLines(base: Buffer, target: Buffer, half: number): Buffer | undefined {
  const out = new DeltaWriter(target);
  const aEnd = base.length + 1; // a position past the last line: the file is consumed
  const bEnd = target.length + 1;
  const wa = new LineWindow(base, RESYNC_WINDOW + 1);
  const wb = new LineWindow(target, RESYNC_WINDOW + 1);
  let pa = 0; // line starts
  let pb = 0;
  let scanned = 0; // bytes the far search has scanned
  while (pa < aEnd && pb < bEnd) {
    if (out.size() * 2 >= half) return undefined;
    // The equal run: whole lines up to the first byte that differs.
    const n = commonPrefixLength(base, pa, target, pb);
    if (pa + n === base.length && pb + n === target.length) {
      out.copy(countNewlines(base, pa, base.length) + 1);
      pa = aEnd;
      pb = bEnd;
      break;
    }
    if (n > 0) {
      const nl = base.lastIndexOf(10, pa + n - 1);
      if (nl >= pa) {
        out.copy(countNewlines(base, pa, nl + 1));
        pb += nl + 1 - pa;
        pa = nl + 1;
      }
    }
    wa.moveTo(pa);
    wb.moveTo(pb);
    const a0 = wa.at(0);
    const b0 = wb.at(0);
    if (wa.sameLine(a0, wb, b0)) {
      // Only where a file ends: a last line without `\n` equal to a line with one.
      out.copy(1);
      pa = wa.end(a0) + 1;
      pb = wb.end(b0) + 1;
      continue;
    }
    // Look-ahead: a line inserted or deleted in place (the nearest first), then one replaced.
    let done = false;
    for (let d = 1; d <= RESYNC_WINDOW && !done; d++) {
      const ad = wa.at(d);
      const bd = wb.at(d);
      if (ad >= 0 && wa.sameLine(ad, wb, b0)) {
        out.remove(d);
        pa = wa.start(ad);
        done = true;
      } else if (bd >= 0 && wa.sameLine(a0, wb, bd)) {
        out.insert(pb, wb.start(bd), d);
        pb = wb.start(bd);
        done = true;
      }
    }
    for (let d = 1; d <= RESYNC_WINDOW && !done; d++) {
      const ad = wa.at(d);
      const bd = wb.at(d);
      if (ad < 0 || bd < 0) break;
      if (wa.sameLine(ad, wb, bd)) {
        out.remove(d);
        out.insert(pb, wb.start(bd), d);
        pa = wa.start(ad);
        pb = wb.start(bd);
        done = true;
      }
    }
    // A few lines replaced by a few others (2 by 1, 1 by 3, ...): the nearest pair of equal lines.
    for (let sum = 3; sum <= 2 * FEW && !done; sum++) {
      for (let da = Math.max(1, sum - FEW); da <= Math.min(FEW, sum - 1) && !done; da++) {
        const ad = wa.at(da);
        const bd = wb.at(sum - da);
        if (ad >= 0 && bd >= 0 && wa.sameLine(ad, wb, bd)) {
          out.remove(da);
          out.insert(pb, wb.start(bd), sum - da);
          pa = wa.start(ad);
          pb = wb.start(bd);
          done = true;
        }
      }
    }
    if (done) continue;
    // Further: the two lines at hand in the other file (a block inserted, deleted or moved).
    const credit = SEARCH_CREDIT + 2 * (pa + pb) - scanned;
    const na = credit >= 2 * SEARCH_FIRST ? needleAt(wa) : undefined;
    const nb = credit >= 2 * SEARCH_FIRST ? needleAt(wb) : undefined;
    let inB = -1; // where base's lines are in target: insert up to there
    let inA = -1; // where target's lines are in base: delete up to there
    let doneA = pa;
    let doneB = pb;
    for (let range = SEARCH_FIRST; (na || nb) && inA < 0 && inB < 0 && scanned + 2 * range <= SEARCH_CREDIT + 2 * (pa + pb); range *= 4) {
      const hiB = na ? Math.min(target.length, pb + range) : doneB;
      const hiA = nb ? Math.min(base.length, pa + range) : doneA;
      if (na) inB = findLines(target, na, doneB, hiB);
      if (nb) inA = findLines(base, nb, doneA, hiA);
      scanned += hiB - doneB + (hiA - doneA);
      if ((!na || hiB === target.length) && (!nb || hiA === base.length)) break;
      doneB = Math.max(pb, hiB - (na?.length ?? 0) + 1);
      doneA = Math.max(pa, hiA - (nb?.length ?? 0) + 1);
    }
    if (inA >= 0 && (inB < 0 || inA - pa <= inB - pb)) {
      out.remove(countNewlines(base, pa, inA));
      pa = inA;
    } else if (inB >= 0) {
      out.insert(pb, inB, countNewlines(target, pb, inB));
      pb = inB;
    } else {
      out.remove(1);
      out.insert(pb, wb.end(b0) + 1, 1);
      pa = wa.end(a0) + 1;
      pb = wb.end(b0) + 1;
    }
  }
  if (pa < aEnd) out.remove(countNewlines(base, pa, base.length) + 1);
  if (pb < bEnd) out.insert(pb, bEnd, countNewlines(target, pb, target.length) + 1);
  const delta = out.finish();
  return delta.length * 2 < half ? delta : undefined;
}

function invalid(why: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `the server's ruleset delta is invalid: ${why}; the agent fetches the whole ruleset instead`);
}

/** One place where the target differs from the base: base lines removed and lines put there instead. */
export interface LineEdit {
  /** Index (0-based) of the first base line removed, or of the base line the insertion goes before. */
  line: number;
  /** The base lines removed, in order (without their `\n`). */
  deleted: string[];
  /** The lines inserted in their place, in order. */
  inserted: string[];
}

/** What a delta rebuilds: the target's bytes, and where they differ from the base. */
export interface RebuiltRuleset {
  bytes: Buffer;
  /**
   * The edits in base order, adjacent deletions and insertions merged into one; undefined when
   * they would remove more than EDIT_LINES_MAX lines (a rewrite, not a change worth describing).
   * Everything outside them is the base's bytes, copied as they are.
   */
  edits?: LineEdit[];
  /** The line index of `bytes` (lineIndex), for the next delta against them (left out when asked: `lines: false`). */
  lines?: Uint32Array;
}

/** Most base lines a delta may remove and still have its edits described (LineEdit). */
export const EDIT_LINES_MAX = 100_000;

/**
 * Where each line of `bytes` starts (lines as the delta counts them: split on `\n`), and one
 * entry more, `bytes.length + 1`, where a line after the last would start: line k is
 * `bytes[index[k], index[k + 1] - 1)`. One native search per line (about 15 ms for 1,000,000
 * lines). Never throws.
 */
export function lineIndex(bytes: Buffer): Uint32Array {
  let index = new Uint32Array(Math.max(16, bytes.length >> 4));
  let n = 1; // index[0] = 0
  for (let p = bytes.indexOf(10); p >= 0; p = bytes.indexOf(10, p + 1)) {
    if (n + 1 >= index.length) {
      const grown = new Uint32Array(index.length * 2);
      grown.set(index);
      index = grown;
    }
    index[n++] = p + 1;
  }
  index[n] = bytes.length + 1;
  return index.subarray(0, n + 1);
}

/**
 * Copy `src[from..end)` plus `shift` into `dst` from `at`; returns where it stopped. A function
 * of its own: the agent rebuilds once per revision, and a loop over a million lines inside the
 * big function above ran unoptimised (its optimisation, compiled on the loop's stack, was thrown
 * away for want of type feedback on the function's other paths, again at every revision).
 */
function copyShifted(dst: Uint32Array, at: number, src: Uint32Array, from: number, end: number, shift: number): number {
  for (let x = from; x < end; x++) dst[at++] = src[x]! + shift;
  return at;
}

/**
 * Rebuild the target from `base` and `delta`, refusing a result over `maxBytes`, and say where it
 * differs from the base. `baseLines`: the line index of `base` (lineIndex; the `lines` of the
 * rebuild that made `base`), so that runs of base lines are found without a search (a 1,000,000-
 * line base otherwise costs one native search per line, about 15 ms); ignored when it does not
 * end at `base`'s length. The runs are copied as byte ranges, not split into strings, and the
 * result's own line index is carried over from the base's. `opts.alloc`: where the result's bytes
 * go (shared/bytes/join-pieces.ts ShiftedAlloc: the shift copies the biggest run at full speed;
 * e.g. memory whose pages were touched ahead of time: shared/bytes/spare-buffer.ts); default
 * fresh memory.
 * `opts.lines: false`: no line index for the result (`lines` left out: 5-10 ms less for
 * 1,000,000 lines; lineIndex(bytes) finds it later, when it is needed or the caller is idle).
 * `opts.pieces`: called with the pieces the result is about to be joined from (with `\n` between
 * each two), before they are copied: a hash of the result may start from them (host/
 * blob-id-thread.ts idOfPieces). They are subarrays of `base` and new Buffers; do not change them.
 * `opts.join`: joins the pieces elsewhere instead (e.g. a worker, as it hashes them: host/
 * blob-id-thread.ts joinInto) and returns the Buffer they go into, laid out as joinPieces would
 * (its bytes may not be there yet: the caller knows when they are), or undefined to have them
 * joined here.
 * Errors: NFTSYNC_ERR_MSG_INVALID (malformed delta, or one that does not fit the base),
 * NFTSYNC_ERR_RULESET_TOO_LARGE (the result would pass `maxBytes`).
 */
export function rebuildFromRulesetDelta(
  base: Buffer,
  delta: Buffer,
  maxBytes: number,
  baseLines?: Uint32Array,
  opts: { alloc?: ShiftedAlloc; lines?: boolean; pieces?: (pieces: readonly Buffer[]) => void; join?: (pieces: readonly Buffer[]) => Buffer | undefined } = {},
): RebuiltRuleset {
  const d = delta.toString('utf8').split('\n');
  if (d[0] !== MAGIC) throw invalid('it does not start with the delta header');
  if (d[d.length - 1] !== '') throw invalid('it does not end with a newline');
  const starts = baseLines !== undefined && baseLines.length >= 2 && baseLines[0] === 0 && baseLines[baseLines.length - 1] === base.length + 1 ? baseLines : lineIndex(base);
  const baseCount = starts.length - 1;
  // Runs of whole lines (each without its last `\n`); the target is the runs joined by `\n`.
  const runs: Buffer[] = [];
  // The target's line index: at most every base line and every line of the delta.
  const lines = opts.lines === false ? undefined : new Uint32Array(baseCount + d.length + 1);
  let lineCount = 0;
  let size = -1; // the target's length so far, plus one for the `\n` after its last line
  let i = 0; // the next base line
  let edits: LineEdit[] | undefined = [];
  let removed = 0;
  let open: LineEdit | undefined; // the edit the next `-` or `+` extends (none after an `=`)
  const edit = (): LineEdit | undefined => {
    if (edits === undefined) return undefined;
    if (open === undefined) {
      open = { line: i, deleted: [], inserted: [] };
      edits.push(open);
    }
    return open;
  };
  let k = 1;
  while (k < d.length - 1) {
    const m = /^([=+-]) ([1-9][0-9]{0,8})$/.exec(d[k]!);
    if (!m) throw invalid(`line ${k + 1} is not an operation`);
    const n = Number(m[2]);
    k++;
    if (m[1] === '+') {
      if (k + n > d.length - 1) throw invalid('an insertion runs past its end');
      const inserted = d.slice(k, k + n);
      for (const line of inserted) {
        if (lines !== undefined) lines[lineCount++] = size + 1;
        size += Buffer.byteLength(line) + 1;
      }
      runs.push(Buffer.from(inserted.join('\n')));
      // One at a time: a spread of 200,000 lines (one API change may add 1,000,000 elements) overflows the stack.
      const into = edit()?.inserted;
      if (into !== undefined) for (const line of inserted) into.push(line);
      k += n;
    } else {
      if (i + n > baseCount) throw invalid('it runs past the end of the base');
      if (m[1] === '=') {
        const end = i + n;
        const from = starts[i]!;
        if (lines !== undefined) lineCount = copyShifted(lines, lineCount, starts, i, end, size + 1 - from);
        size += starts[end]! - from;
        runs.push(base.subarray(from, starts[end]! - 1));
        open = undefined;
      } else {
        removed += n;
        if (removed > EDIT_LINES_MAX) edits = undefined;
        const keep = edit()?.deleted;
        if (keep !== undefined) for (let x = i; x < i + n; x++) keep.push(base.toString('utf8', starts[x]!, starts[x + 1]! - 1));
      }
      i += n;
    }
    if (size > maxBytes) {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_TOO_LARGE', `the ruleset rebuilt from the server's delta passes ${maxBytes} bytes, more than this agent accepts; raise --max-ruleset-bytes`, { data: { limit: maxBytes } });
    }
  }
  if (i < baseCount) throw invalid(`it leaves ${baseCount - i} line(s) of the base unread`);
  opts.pieces?.(runs);
  const bytes = opts.join?.(runs) ?? joinPieces(runs, { separator: 10, ...(opts.alloc && { alloc: opts.alloc }) });
  if (bytes.length !== Math.max(size, 0)) throw new RangeError(`rebuildFromRulesetDelta: ${bytes.length} bytes rebuilt, ${size} counted`);
  if (lines === undefined) return { bytes, ...(edits !== undefined && { edits }) };
  lines[lineCount] = size + 1;
  return { bytes, ...(edits !== undefined && { edits }), lines: lines.subarray(0, lineCount + 1) };
}

/**
 * Rebuild the target from `base` and `delta`, refusing a result over `maxBytes`
 * (rebuildFromRulesetDelta without the edits).
 * Errors: NFTSYNC_ERR_MSG_INVALID (malformed delta, or one that does not fit the base),
 * NFTSYNC_ERR_RULESET_TOO_LARGE (the result would pass `maxBytes`).
 */
export function applyRulesetDelta(base: Buffer, delta: Buffer, maxBytes: number): Buffer {
  return rebuildFromRulesetDelta(base, delta, maxBytes).bytes;
}
