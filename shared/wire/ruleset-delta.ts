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
 * The edit script is found by walking both files side by side, comparing lines, and looking up
 * to RESYNC_WINDOW lines ahead in each for a line inserted or deleted in place (a blocklist
 * written one element a line, changed at random places: a few bytes per changed element). It is
 * linear and not minimal: a long block moved or rewritten is sent as deleted and inserted, and
 * when the delta would not be under half of the target, there is none (the full ruleset goes).
 * The receiver checks the rebuilt bytes against the announced length and blob id as usual.
 */
import { NftSyncError } from '../errors.js';

const MAGIC = 'nft-sync-delta 1';
const RESYNC_WINDOW = 32;

/** Lines of `b` as strings (split on `\n`; the last one may be empty). */
function lines(b: Buffer): string[] {
  return b.toString('utf8').split('\n');
}

/**
 * The delta turning `base` into `target`, or undefined when it would not be under half of
 * `target`'s size (send the whole ruleset then), or either is not UTF-8 text. Never throws.
 */
export function encodeRulesetDelta(base: Buffer, target: Buffer): Buffer | undefined {
  const a = lines(base);
  const b = lines(target);
  if (Buffer.byteLength(a.join('\n')) !== base.length || Buffer.byteLength(b.join('\n')) !== target.length) return undefined; // not UTF-8
  const out: string[] = [MAGIC];
  let size = MAGIC.length;
  const budget = target.length / 2;
  let op = '';
  let count = 0;
  let inserted: string[] = [];
  const flush = (): void => {
    if (count === 0) return;
    out.push(`${op} ${count}`);
    size += op.length + 2 + String(count).length;
    if (op === '+') for (const l of inserted) out.push(l);
    inserted = [];
    count = 0;
  };
  const emit = (kind: '=' | '-' | '+', line?: string): void => {
    if (op !== kind) flush();
    op = kind;
    count++;
    if (line !== undefined) {
      inserted.push(line);
      size += Buffer.byteLength(line) + 1;
    }
  };
  let i = 0;
  let j = 0;
  walk: while (i < a.length && j < b.length) {
    if (size > budget) return undefined;
    if (a[i] === b[j]) {
      emit('=');
      i++;
      j++;
      continue;
    }
    for (let d = 1; d <= RESYNC_WINDOW; d++) {
      if (i + d < a.length && a[i + d] === b[j]) {
        for (let k = 0; k < d; k++) emit('-');
        i += d;
        continue walk;
      }
      if (j + d < b.length && a[i] === b[j + d]) {
        for (let k = 0; k < d; k++) emit('+', b[j + k]);
        j += d;
        continue walk;
      }
    }
    emit('-');
    i++;
    emit('+', b[j++]);
  }
  for (; i < a.length; i++) emit('-');
  for (; j < b.length; j++) emit('+', b[j]);
  flush();
  if (size > budget) return undefined;
  return Buffer.from(`${out.join('\n')}\n`);
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
  /** The line index of `bytes` (lineIndex), for the next delta against them. */
  lines: Uint32Array;
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
 * result's own line index is carried over from the base's.
 * Errors: NFTSYNC_ERR_MSG_INVALID (malformed delta, or one that does not fit the base),
 * NFTSYNC_ERR_RULESET_TOO_LARGE (the result would pass `maxBytes`).
 */
export function rebuildFromRulesetDelta(base: Buffer, delta: Buffer, maxBytes: number, baseLines?: Uint32Array): RebuiltRuleset {
  const d = delta.toString('utf8').split('\n');
  if (d[0] !== MAGIC) throw invalid('it does not start with the delta header');
  if (d[d.length - 1] !== '') throw invalid('it does not end with a newline');
  const starts = baseLines !== undefined && baseLines.length >= 2 && baseLines[0] === 0 && baseLines[baseLines.length - 1] === base.length + 1 ? baseLines : lineIndex(base);
  const baseCount = starts.length - 1;
  // Runs of whole lines (each without its last `\n`); the target is the runs joined by `\n`.
  const runs: Buffer[] = [];
  // The target's line index: at most every base line and every line of the delta.
  const lines = new Uint32Array(baseCount + d.length + 1);
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
        lines[lineCount++] = size + 1;
        size += Buffer.byteLength(line) + 1;
      }
      runs.push(Buffer.from(inserted.join('\n')));
      edit()?.inserted.push(...inserted);
      k += n;
    } else {
      if (i + n > baseCount) throw invalid('it runs past the end of the base');
      if (m[1] === '=') {
        const end = i + n;
        const from = starts[i]!;
        lineCount = copyShifted(lines, lineCount, starts, i, end, size + 1 - from);
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
  const parts: Buffer[] = [];
  const NL = Buffer.from('\n');
  runs.forEach((r, x) => {
    if (x > 0) parts.push(NL);
    parts.push(r);
  });
  lines[lineCount] = size + 1;
  return { bytes: Buffer.concat(parts, Math.max(size, 0)), ...(edits !== undefined && { edits }), lines: lines.subarray(0, lineCount + 1) };
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
