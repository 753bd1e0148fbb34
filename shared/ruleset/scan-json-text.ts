/**
 * A pure, single-pass look at JSON text before JSON.parse sees it, for text from anyone (a
 * ruleset pushed, fetched from a server, imported).
 *
 * JSON.parse in V8 is iterative: it takes 5 s and gigabytes on ten million nested `[`, and then
 * every recursive walk after it (JSON.stringify, ajv, the normaliser) overflows the stack. And
 * JSON.parse rounds numbers above 2^53 without a word. So the text is scanned first, in linear
 * time and constant memory (a stack of at most `maxDepth` entries), for:
 *   - nesting deeper than `maxDepth` (reported where it starts);
 *   - more than `maxContainers` arrays and objects: JSON.parse allocates each, and 20 million
 *     empty ones (`[[],[],...]`, 64 MiB) take it 20 s and 1.4 GB;
 *   - more than `maxShapes` object shapes, counted as V8 counts hidden classes: each distinct
 *     sequence of keys (`{}` + "family" + "name" ...) is a shape. 20 MB of small objects whose
 *     keys come in random orders, or are all different, take JSON.parse 8 to 16 s; nft's own
 *     JSON uses a few hundred shapes;
 *   - a number that would not reach nft as written (shared/ruleset/exact-json-number.ts);
 *   - a key written twice in one object: JSON.parse keeps the last, while a person reading the
 *     file (or its diff, in review) may take the first. Found through the shapes: a key that
 *     makes a new shape is compared with the keys of the shape it extends, once per shape.
 * Each finding carries the RFC 6901 JSON pointer of the value, so a person can find it.
 *
 * The scan judges only those limits, never the syntax: on text that is not JSON it stops and
 * reports nothing, leaving the error (with its position) to JSON.parse. Strings are skipped with
 * indexOf, so a 60 MB string costs one native search.
 */
import { isExactJsonNumber } from './exact-json-number.js';

export interface JsonTextLimits {
  /** Deepest nesting of arrays and objects allowed (the top-level value is depth 1). */
  maxDepth: number;
  /** Most arrays and objects in the whole text. */
  maxContainers: number;
  /** Most distinct object shapes (key sequences, each prefix counting once) in the whole text. */
  maxShapes: number;
}

export interface JsonTextFinding {
  kind: 'depth' | 'containers' | 'shapes' | 'number' | 'duplicate';
  /** JSON pointer of the value concerned ('' is the whole document). */
  pointer: string;
  /** Offset in the text. */
  position: number;
  /** For 'number': the token as written. */
  token?: string;
}

const ARRAY = 1;
const OBJECT = 2;

/** Offset of the quote closing the string that opens at `at`, or -1 when it is not closed. */
function stringEnd(text: string, at: number): number {
  let q = text.indexOf('"', at + 1);
  while (q !== -1) {
    let backslashes = 0;
    for (let b = q - 1; b > at && text.charCodeAt(b) === 0x5c; b--) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
  return -1;
}

/** Character classes of the scan, by char code (0: nothing to do). */
const OTHER = 0;
const QUOTE = 1;
const OPEN = 2;
const CLOSE = 3;
const COMMA = 4;
const DIGIT = 5;
const CLASS = new Uint8Array(128);
CLASS[0x22] = QUOTE;
CLASS[0x7b] = OPEN;
CLASS[0x5b] = OPEN;
CLASS[0x7d] = CLOSE;
CLASS[0x5d] = CLOSE;
CLASS[0x2c] = COMMA;
for (const ch of '0123456789-+.eE') CLASS[ch.charCodeAt(0)] = DIGIT;

function isNumberChar(c: number): boolean {
  return c < 128 && CLASS[c] === DIGIT;
}

/** A quoted key's value with its escapes decoded (as written when it is not valid JSON). */
function decodedKey(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The first finding in `text`, or undefined when it is within `limits` (or is not JSON: then
 * JSON.parse reports it). Pure; never throws; O(text length).
 */
export function scanJsonText(text: string, limits: JsonTextLimits): JsonTextFinding | undefined {
  const size = limits.maxDepth + 2;
  const kind = new Uint8Array(size);
  const index = new Float64Array(size); // arrays: index of the current element
  const shape = new Int32Array(size); // objects: the shape of the keys seen so far
  const keyStart = new Int32Array(size).fill(-1);
  const keyEnd = new Int32Array(size);
  /** Shape transitions: transitions[shape].get(key) is the shape after adding `key`. */
  const transitions: Array<Map<string, number> | undefined> = [];
  let shapes = 1; // the empty object
  /** For each shape but the empty one: the shape it extends and the key it adds (decoded). */
  const parentOf: number[] = [-1];
  const keyOf: string[] = [''];
  let containers = 0;
  let depth = 0;
  let expectKey = false;

  const pointer = (levels: number): string => {
    let out = '';
    for (let d = 1; d <= levels; d++) {
      if (kind[d] === ARRAY) out += `/${index[d]}`;
      else if (keyStart[d]! >= 0) {
        let key: string;
        try {
          key = JSON.parse(text.slice(keyStart[d]!, keyEnd[d]!)) as string;
        } catch {
          key = text.slice(keyStart[d]! + 1, keyEnd[d]! - 1);
        }
        out += `/${escapePointer(key)}`;
      }
    }
    return out;
  };

  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const cls = c < 128 ? CLASS[c]! : OTHER;
    if (cls === OTHER) {
      i++; // whitespace, ':', and the letters of true, false, null
    } else if (cls === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return undefined;
      if (expectKey) {
        keyStart[depth] = i;
        keyEnd[depth] = end + 1;
        expectKey = false;
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? decodedKey(text.slice(i, end + 1)) : raw;
        const from = shape[depth]!;
        let next = transitions[from]?.get(key);
        if (next === undefined) {
          if (++shapes > limits.maxShapes) return { kind: 'shapes', pointer: pointer(depth), position: i };
          for (let s = from; s > 0; s = parentOf[s]!) if (keyOf[s] === key) return { kind: 'duplicate', pointer: pointer(depth), position: i };
          next = shapes - 1;
          parentOf[next] = from;
          keyOf[next] = key;
          (transitions[from] ??= new Map()).set(key, next);
        }
        shape[depth] = next;
      }
      i = end + 1;
    } else if (cls === OPEN) {
      if (depth + 1 > limits.maxDepth) return { kind: 'depth', pointer: pointer(depth), position: i };
      if (++containers > limits.maxContainers) return { kind: 'containers', pointer: pointer(depth), position: i };
      depth++;
      kind[depth] = c === 0x7b ? OBJECT : ARRAY;
      index[depth] = 0;
      shape[depth] = 0;
      keyStart[depth] = -1;
      expectKey = c === 0x7b;
      i++;
    } else if (cls === CLOSE) {
      if (depth === 0) return undefined;
      depth--;
      expectKey = false;
      i++;
    } else if (cls === COMMA) {
      if (depth === 0) return undefined;
      if (kind[depth] === OBJECT) expectKey = true;
      else index[depth]!++;
      i++;
    } else {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      const token = text.slice(i, j);
      if (!isExactJsonNumber(token)) return { kind: 'number', pointer: pointer(depth), position: i, token: token.length > 80 ? `${token.slice(0, 77)}...` : token };
      i = j;
    }
  }
  return undefined;
}
