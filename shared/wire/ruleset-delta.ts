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

/**
 * Rebuild the target from `base` and `delta`, refusing a result over `maxBytes`.
 * Errors: NFTSYNC_ERR_MSG_INVALID (malformed delta, or one that does not fit the base),
 * NFTSYNC_ERR_RULESET_TOO_LARGE (the result would pass `maxBytes`).
 */
export function applyRulesetDelta(base: Buffer, delta: Buffer, maxBytes: number): Buffer {
  const a = lines(base);
  const d = delta.toString('utf8').split('\n');
  if (d[0] !== MAGIC) throw invalid('it does not start with the delta header');
  if (d[d.length - 1] !== '') throw invalid('it does not end with a newline');
  const out: string[] = [];
  let size = -1;
  let i = 0;
  let k = 1;
  while (k < d.length - 1) {
    const m = /^([=+-]) ([1-9][0-9]{0,8})$/.exec(d[k]!);
    if (!m) throw invalid(`line ${k + 1} is not an operation`);
    const n = Number(m[2]);
    k++;
    if (m[1] === '+') {
      if (k + n > d.length - 1) throw invalid('an insertion runs past its end');
      for (let x = 0; x < n; x++) {
        size += Buffer.byteLength(d[k + x]!) + 1;
        out.push(d[k + x]!);
      }
      k += n;
    } else {
      if (i + n > a.length) throw invalid('it runs past the end of the base');
      if (m[1] === '=') {
        for (let x = 0; x < n; x++) {
          size += Buffer.byteLength(a[i + x]!) + 1;
          out.push(a[i + x]!);
        }
      }
      i += n;
    }
    if (size > maxBytes) {
      throw new NftSyncError('NFTSYNC_ERR_RULESET_TOO_LARGE', `the ruleset rebuilt from the server's delta passes ${maxBytes} bytes, more than this agent accepts; raise --max-ruleset-bytes`, { data: { limit: maxBytes } });
    }
  }
  if (i !== a.length) throw invalid(`it leaves ${a.length - i} line(s) of the base unread`);
  return Buffer.from(out.join('\n'));
}
