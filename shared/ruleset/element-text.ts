/**
 * Elements as an operator types them (`nft-sync set add … 198.18.0.1 198.18.0.0/24`, or one a
 * line in a file) turned into the libnftables JSON the element API takes. Pure.
 *
 * A word is:
 * - JSON when it starts with `{`, `[` or `"` (any element the API takes, written out);
 * - `KEY : VALUE` for a map element (`198.18.0.1 : drop`, `198.18.0.1 : jump allow`);
 * - `A . B` for a concatenation (`198.18.0.1 . 80`);
 * - otherwise the value as written (`198.18.0.1`, `198.18.0.0/24`, `fd00::1`, `80`).
 * Values stay strings: the server reads them for the set's type (a port `"80"` becomes 80).
 */
import { NftSyncError } from '../errors.js';

/** A key as typed: a concatenation when it holds ` . `. */
function keyText(text: string): unknown {
  const parts = text.split(/\s+\.\s+/).map((p) => p.trim());
  return parts.length > 1 ? { concat: parts } : text.trim();
}

/**
 * The element `text` stands for, with `timeout` (seconds) on its key when given. Errors:
 * NFTSYNC_ERR_USAGE naming `where` (the argument or the file and line) for JSON that does not parse or an empty key.
 */
export function elementFromText(text: string, where: string, timeout?: number): unknown {
  const t = text.trim();
  let element: unknown;
  if (/^[[{"]/.test(t)) {
    try {
      element = JSON.parse(t);
    } catch (err) {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `${where}: ${JSON.stringify(t)} is not JSON: ${(err as Error).message}`);
    }
  } else {
    const colon = t.search(/\s:\s/);
    element = colon < 0 ? keyText(t) : [keyText(t.slice(0, colon)), t.slice(colon).replace(/^\s:\s/, '').trim()];
    if (t === '' || (Array.isArray(element) && (element[0] === '' || element[1] === ''))) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${where}: ${JSON.stringify(t)} is not an element`);
  }
  if (timeout === undefined) return element;
  const wrap = (key: unknown): unknown => (key !== null && typeof key === 'object' && 'elem' in key ? key : { elem: { val: key, timeout } });
  return Array.isArray(element) && element.length === 2 ? [wrap(element[0]), element[1]] : wrap(element);
}

/**
 * The elements of a file's text: one a line; blank lines, lines starting with `#` and the rest
 * of a line after ` #` are ignored. Errors: as elementFromText, naming `file:LINE`.
 */
export function elementsFromFile(text: string, file: string, timeout?: number): unknown[] {
  const out: unknown[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line !== '') out.push(elementFromText(line, `${file}:${i + 1}`, timeout));
  });
  return out;
}
