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
}

/** Most base lines a delta may remove and still have its edits described (LineEdit). */
export const EDIT_LINES_MAX = 100_000;

/**
 * Rebuild the target from `base` and `delta`, refusing a result over `maxBytes`, and say where it
 * differs from the base. The base's lines are found with native searches and copied as byte
 * ranges (about 15 ms for 1,000,000 lines), not split into strings.
 * Errors: NFTSYNC_ERR_MSG_INVALID (malformed delta, or one that does not fit the base),
 * NFTSYNC_ERR_RULESET_TOO_LARGE (the result would pass `maxBytes`).
 */
export function rebuildFromRulesetDelta(base: Buffer, delta: Buffer, maxBytes: number): RebuiltRuleset {
  const d = delta.toString('utf8').split('\n');
  if (d[0] !== MAGIC) throw invalid('it does not start with the delta header');
  if (d[d.length - 1] !== '') throw invalid('it does not end with a newline');
  // Runs of whole lines (each without its last `\n`); the target is the runs joined by `\n`.
  const runs: Buffer[] = [];
  let size = -1;
  let pos = 0; // start of the base line `i`; base.length + 1 once the last line is consumed
  let i = 0;
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
  /** Step over `n` base lines (a native search for each `\n`); returns the byte range they cover (without the last `\n`). */
  const skip = (n: number, keep?: string[]): [number, number] => {
    const from = pos;
    const len = base.length;
    let p = pos; // locals in the loop: a million steps through closure slots cost several times more
    let end = p;
    for (let x = 0; x < n; x++) {
      if (p > len) throw invalid('it runs past the end of the base');
      const nl = base.indexOf(10, p);
      end = nl < 0 ? len : nl;
      if (keep !== undefined) keep.push(base.toString('utf8', p, end));
      p = end + 1;
    }
    pos = p;
    i += n;
    return [from, end];
  };
  let k = 1;
  while (k < d.length - 1) {
    const m = /^([=+-]) ([1-9][0-9]{0,8})$/.exec(d[k]!);
    if (!m) throw invalid(`line ${k + 1} is not an operation`);
    const n = Number(m[2]);
    k++;
    if (m[1] === '+') {
      if (k + n > d.length - 1) throw invalid('an insertion runs past its end');
      const lines = d.slice(k, k + n);
      const run = Buffer.from(lines.join('\n'));
      size += run.length + 1;
      runs.push(run);
      edit()?.inserted.push(...lines);
      k += n;
    } else if (m[1] === '=') {
      const [from, end] = skip(n);
      size += end - from + 1;
      runs.push(base.subarray(from, end));
      open = undefined;
    } else {
      removed += n;
      if (removed > EDIT_LINES_MAX) edits = undefined;
      skip(n, edit()?.deleted);
    }
    if (size > maxBytes) {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_TOO_LARGE', `the ruleset rebuilt from the server's delta passes ${maxBytes} bytes, more than this agent accepts; raise --max-ruleset-bytes`, { data: { limit: maxBytes } });
    }
  }
  if (pos <= base.length) {
    let left = 1;
    for (let p = base.indexOf(10, pos); p >= 0; p = base.indexOf(10, p + 1)) left++;
    throw invalid(`it leaves ${left} line(s) of the base unread`);
  }
  const parts: Buffer[] = [];
  const NL = Buffer.from('\n');
  runs.forEach((r, x) => {
    if (x > 0) parts.push(NL);
    parts.push(r);
  });
  return { bytes: Buffer.concat(parts), ...(edits !== undefined && { edits }) };
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
