/**
 * Element change files: how a big set changes without rewriting its ruleset. Pure.
 *
 * `rulesets/NAME.json` is the base, a libnftables JSON ruleset. Each element change made through
 * the element API (`nft-sync set add|del`) is a small file `rulesets/NAME.elements/NNNNNN.json`
 * (six digits, applied in name order) naming one set or map and the elements it really added
 * and deleted, one element a line:
 *
 * ```json
 * {
 *   "nft-sync-elements": 1,
 *   "set": {"family": "inet", "table": "filter", "name": "blocklist"},
 *   "add": [
 *     "198.18.0.7"
 *   ],
 *   "delete": [
 *     "198.18.0.9"
 *   ]
 * }
 * ```
 *
 * Why: a 1,000-element change of a 1,000,000-element set then writes a 20 KB blob instead of a
 * new 15-20 MB one, and `git log -p rulesets/NAME.elements` still shows who added or deleted
 * which element, and when. The effective ruleset is the base with its change files applied
 * (shared/ruleset/compose-ruleset.ts); from time to time the server folds them into the base.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Type, type Static } from '@sinclair/typebox';
import { NftSyncError } from '../errors.js';
import { checkRulesetText } from './ruleset-schema.js';
import { FAMILIES, NFT_NAME_PATTERN } from './ruleset-items.js';
import type { SetAddress } from './element-change.js';

/** The format version a change file declares (`"nft-sync-elements": 1`). */
export const ELEMENT_LOG_VERSION = 1;

/** The one name shape allowed in `rulesets/NAME.elements/`: six digits and `.json`. */
export const CHANGE_FILE_NAME = /^[0-9]{6}\.json$/;

/** Change files a directory may number (000001 to 999999). */
export const MAX_CHANGE_FILES = 999_999;

/**
 * Most change files one ruleset may have in a commit: a push with more is refused
 * (shared/push/ruleset-files.ts). The element API folds long before (64 by default); this bounds
 * what a pusher makes each composition cost: the server composes in its event loop at the first
 * read of each new commit (10,000 tiny change files held it 1.8 s).
 */
export const MAX_STORED_CHANGE_FILES = 1_000;

/** The schema of a change file (TypeBox; the type below derives from it). */
export const ElementChangeFile = Type.Object(
  {
    'nft-sync-elements': Type.Literal(ELEMENT_LOG_VERSION),
    set: Type.Object(
      {
        family: Type.Unsafe<string>({ enum: [...FAMILIES] }),
        table: Type.String({ pattern: NFT_NAME_PATTERN }),
        name: Type.String({ pattern: NFT_NAME_PATTERN }),
      },
      { additionalProperties: false },
    ),
    add: Type.Array(Type.Unknown()),
    delete: Type.Array(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type ElementChangeFile = Static<typeof ElementChangeFile>;

const validate: ValidateFunction = new Ajv({ strict: true, allErrors: false }).compile(ElementChangeFile);

/** The directory of `name`'s change files, inside `rulesets/`: `NAME.elements`. */
export function elementsDirName(name: string): string {
  return `${name}.elements`;
}

/** The ruleset name of a `rulesets/` entry `NAME.elements`, else undefined. */
export function rulesetOfElementsDir(entry: string): string | undefined {
  return entry.endsWith('.elements') && entry.length > '.elements'.length ? entry.slice(0, -'.elements'.length) : undefined;
}

/** The file name of change number `seq` (1 to 999,999): `000042.json`. */
export function changeFileName(seq: number): string {
  return `${String(seq).padStart(6, '0')}.json`;
}

/** The number of a change file name (`000042.json` -> 42); undefined for any other name. */
export function changeFileNumber(fileName: string): number | undefined {
  return CHANGE_FILE_NAME.test(fileName) ? Number(fileName.slice(0, 6)) : undefined;
}

/**
 * Parse and check one change file. Errors: NFTSYNC_ERR_RULESET_TOO_COMPLEX /
 * NFTSYNC_ERR_RULESET_NUMBER_INEXACT / NFTSYNC_ERR_RULESET_SCHEMA (the text checks every ruleset
 * goes through before JSON.parse), NFTSYNC_ERR_RULESET_JSON (not JSON), NFTSYNC_ERR_RULESET_SCHEMA
 * (not a change file: `data.pointer`). Elements are not judged here: composing judges them
 * against their set's declaration.
 */
export function parseChangeFile(bytes: Buffer | string): ElementChangeFile {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  checkRulesetText(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_RULESET_JSON', `element change file is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!validate(value)) {
    const e = validate.errors![0]!;
    const pointer = e.instancePath || '/';
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    const version = isObject ? (value as Record<string, unknown>)['nft-sync-elements'] : undefined;
    const why =
      version !== ELEMENT_LOG_VERSION
        ? `not an element change file of this nft-sync ("nft-sync-elements": ${ELEMENT_LOG_VERSION} expected, found ${JSON.stringify(version) ?? 'none'})`
        : e.keyword === 'additionalProperties'
          ? `unknown key ${JSON.stringify((e.params as { additionalProperty?: string }).additionalProperty)}`
          : `${e.message ?? 'invalid'}`;
    throw new NftSyncError('NFTSYNC_ERR_RULESET_SCHEMA', `element change file ${pointer}: ${why}; it holds {"nft-sync-elements": 1, "set": {family, table, name}, "add": [...], "delete": [...]}`, {
      data: { pointer, object: pointer },
    });
  }
  return value as ElementChangeFile;
}

/**
 * The text of a change file for `set`: two-space JSON with one element a line, ending in a
 * newline, so `git log -p` shows each element added or deleted as one line. Never throws.
 */
export function renderChangeFile(set: SetAddress, add: readonly unknown[], del: readonly unknown[]): string {
  const list = (xs: readonly unknown[]): string => (xs.length === 0 ? '[]' : `[\n${xs.map((x) => `    ${JSON.stringify(x) ?? 'null'}`).join(',\n')}\n  ]`);
  const where = JSON.stringify({ family: set.family, table: set.table, name: set.name });
  return `{\n  "nft-sync-elements": ${ELEMENT_LOG_VERSION},\n  "set": ${where},\n  "add": ${list(add)},\n  "delete": ${list(del)}\n}\n`;
}
