/**
 * The ruleset file schema and its parser.
 *
 * A ruleset file is libnftables JSON in LIST form (what `nft -j list ruleset` prints): an
 * optional `metainfo` first, then items with exactly one key each. The schema checks the
 * structure and the identities (family, names, references); it does not model expressions,
 * which nft itself judges at `nft -c` / apply time. The schema is declared once, in
 * ruleset-types.ts (TypeBox, with the types derived from it, and RULESET_SCHEMA). The same
 * schema serves the server's push-time validator, the HTTP API and the agent: parseRuleset runs
 * ruleset-validator.ts, the code ajv compiles from RULESET_SCHEMA at build time (`npm run build`;
 * its test fails when it is stale), so that neither TypeBox nor ajv is loaded to check a ruleset.
 *
 * Core objects (table, chain, rule, set, map) refuse unknown keys because nft 1.0.6 silently
 * ignores them: a typo such as `"polcy": "drop"` would otherwise load as an accept policy.
 */
import type { ErrorObject } from 'ajv';
import { NftSyncError } from '../errors.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import { printedJsonNumber } from './exact-json-number.js';
import { jsonErrorPosition } from '../json/json-error-position.js';
import { scanJsonText, type JsonTextLimits } from './scan-json-text.js';
import type { Ruleset, TableRef } from './ruleset-types.js';
import { elementFields, itemBody, itemKind } from './ruleset-items.js';
import { MAX_TIMEOUT_SECONDS } from './element-value.js';
import { validateRulesetSchema as validate } from './ruleset-validator.js';

export type { Ruleset, RulesetItem, TableRef } from './ruleset-types.js';
export { NFT_NAME_PATTERN } from './ruleset-items.js';

const NAME_MAX_BYTES = 255;

/**
 * What a ruleset's text may hold before JSON.parse sees it (shared/ruleset/scan-json-text.ts says why
 * each limit exists). Nesting: nft 1.0.6's deepest listings reach about 15 levels. Containers:
 * a 1,000,000-element verdict map of prefixes (`[{"prefix":…},{"jump":…}]` per element) has
 * 5,000,000 and parses in about 3 s, which is what the worst text within the limit costs too.
 * Shapes: nft's JSON vocabulary makes a few hundred.
 */
export const RULESET_TEXT_LIMITS: Readonly<JsonTextLimits> = SHARED_DEFAULTS.rulesetText;

/** The first 4 segments of a pointer: the item it is in (`/nftables/3/rule`). */
function objectOf(pointer: string): string {
  return pointer.split('/').slice(0, 4).join('/') || '/';
}

/**
 * Refuse text that would make JSON.parse block or balloon, or lose a number's value; parseRuleset
 * calls it first, and so must any path that parses ruleset JSON before parseRuleset sees it (an
 * nft listing being imported: once parsed, its digits are gone). Pure. Errors:
 * NFTSYNC_ERR_RULESET_NUMBER_INEXACT, NFTSYNC_ERR_RULESET_TOO_COMPLEX, NFTSYNC_ERR_RULESET_SCHEMA (a key
 * written twice in one object) (`data.pointer` says where).
 */
export function checkRulesetText(text: string): void {
  const f = scanJsonText(text, RULESET_TEXT_LIMITS);
  if (f === undefined) return;
  const pointer = f.pointer || '/';
  const data = { pointer, object: objectOf(f.pointer), position: f.position };
  if (f.kind === 'number') {
    throw new NftSyncError(
      'NFTSYNC_ERR_RULESET_NUMBER_INEXACT',
      `ruleset ${pointer}: the number ${f.token} would reach nft as ${printedJsonNumber(f.token!)} (JSON numbers above 2^53 cannot all be carried exactly); write a value that is exact, such as ${printedJsonNumber(f.token!)}, or use a larger unit`,
      { data: { ...data, token: f.token, printed: printedJsonNumber(f.token!) } },
    );
  }
  if (f.kind === 'duplicate') {
    const key = f.pointer.slice(f.pointer.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
    throw schemaError(f.pointer, `key ${JSON.stringify(key)} is written twice in this object (JSON.parse would keep the last, a reader may see the first): write it once`);
  }
  const why =
    f.kind === 'depth'
      ? `nests deeper than ${RULESET_TEXT_LIMITS.maxDepth} levels`
      : f.kind === 'containers'
        ? `holds more than ${RULESET_TEXT_LIMITS.maxContainers} arrays and objects`
        : `uses more than ${RULESET_TEXT_LIMITS.maxShapes} different sets of object keys (nft's JSON uses a few hundred)`;
  throw new NftSyncError('NFTSYNC_ERR_RULESET_TOO_COMPLEX', `ruleset ${pointer}: the ruleset ${why}; refused before parsing it`, { data });
}

function schemaError(pointer: string, message: string): NftSyncError {
  // The object pointer (`/nftables/3/rule`) is what a person looks for in the file.
  const object = pointer.split('/').slice(0, 4).join('/') || '/';
  return new NftSyncError('NFTSYNC_ERR_RULESET_SCHEMA', `ruleset ${pointer || '/'}: ${message}`, {
    data: { pointer: pointer || '/', object },
  });
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `unknown key ${JSON.stringify(p.additionalProperty)}: check its spelling`;
  if (e.keyword === 'maxProperties' || e.keyword === 'minProperties') return 'each item must have exactly one key (table, chain, rule, set, map, ...)';
  if (e.keyword === 'pattern') return 'is not a valid nft name (1-255 characters, no control characters, no "/")';
  if (e.keyword === 'enum') return `${e.message ?? 'invalid'}: ${JSON.stringify(p.allowedValues)}`;
  return e.message ?? 'invalid';
}

/**
 * Parse and validate a ruleset file. Returns it typed (the parsed JSON itself, not a copy).
 * The text is scanned first (RULESET_TEXT_LIMITS), in linear time, so that nothing in it can
 * make JSON.parse block for long, exhaust memory or round a number.
 * Errors: NFTSYNC_ERR_RULESET_NUMBER_INEXACT (a number that nft would not get as written, with
 * its JSON pointer), NFTSYNC_ERR_RULESET_TOO_COMPLEX (nesting, container or shape limits, with
 * the pointer where it was exceeded), NFTSYNC_ERR_RULESET_JSON when the bytes are not JSON (message and `data` carry
 * JSON.parse's position, line and column when it reports them); NFTSYNC_ERR_RULESET_SCHEMA when
 * the structure is wrong or a reference dangles (`data.pointer` is the JSON pointer of the
 * offending value, `data.object` that of its item, e.g. `/nftables/3/rule`).
 */
export function parseRuleset(bytes: Buffer | string): Ruleset {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  checkRulesetText(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // V8 names a position for most errors; "end of JSON input" means the text was cut short.
    const m = /position (\d+)/.exec(msg);
    const data: Record<string, unknown> = {};
    const position = m ? Number(m[1]) : /end of JSON input/.test(msg) ? text.length : jsonErrorPosition(text);
    if (position !== undefined) {
      const before = text.slice(0, position);
      data.position = position;
      data.line = before.split('\n').length;
      data.column = position - before.lastIndexOf('\n');
    }
    const where = data.line === undefined ? '' : ` at line ${String(data.line)}, column ${String(data.column)}`;
    throw new NftSyncError('NFTSYNC_ERR_RULESET_JSON', `ruleset is not valid JSON${where}: ${msg}`, { data, cause: err });
  }
  if (!validate(value)) {
    const e = validate.errors![0]!;
    throw schemaError(e.instancePath, describe(e));
  }
  const ruleset = value as Ruleset;
  checkReferences(ruleset);
  return ruleset;
}

/**
 * Semantic checks the schema cannot express: metainfo only first, names within 255 bytes,
 * no duplicate declarations, every reference (table of an object, chain of a rule, set of
 * an element) declared in the file, and elements' `timeout` and `expires` whole seconds
 * (checkElementTimes). Throws NFTSYNC_ERR_RULESET_SCHEMA.
 */
function checkReferences(ruleset: Ruleset): void {
  const tables = new Set<string>();
  const declared = new Set<string>();
  const items = ruleset.nftables;
  // Tables first: nft lists them first, but a hand-written file may not.
  items.forEach((item, i) => {
    if (itemKind(item) !== 'table') return;
    const t = itemBody(item) as unknown as TableRef;
    const key = `${t.family} ${t.name}`;
    if (tables.has(key)) throw schemaError(`/nftables/${i}/table`, `table ${key} is declared twice`);
    tables.add(key);
  });
  items.forEach((item, i) => {
    const kind = itemKind(item);
    const at = `/nftables/${i}/${kind}`;
    if (kind === 'metainfo') {
      if (i !== 0) throw schemaError(at, 'metainfo may only be the first item');
      return;
    }
    const body = itemBody(item) as Record<string, string>;
    for (const key of ['name', 'table', 'chain'] as const) {
      const v = body[key];
      if (typeof v === 'string' && Buffer.byteLength(v) > NAME_MAX_BYTES) throw schemaError(`${at}/${key}`, `name is longer than ${NAME_MAX_BYTES} bytes`);
    }
    if (kind === 'table') return;
    const table = `${body.family} ${body.table}`;
    if (!tables.has(table)) throw schemaError(`${at}/table`, `${kind} refers to table ${table}, which the ruleset does not declare`);
    if (kind === 'rule' || kind === 'element') return;
    const space = kind === 'map' ? 'set' : kind; // sets and maps share one name space
    const key = `${space} ${table} ${body.name}`;
    if (declared.has(key)) throw schemaError(at, `${kind} ${table} ${body.name} is declared twice`);
    declared.add(key);
  });
  items.forEach((item, i) => {
    const kind = itemKind(item);
    const body = itemBody(item) as Record<string, string>;
    const table = `${body.family} ${body.table}`;
    if (kind === 'rule' && !declared.has(`chain ${table} ${body.chain}`)) {
      throw schemaError(`/nftables/${i}/rule/chain`, `rule refers to chain ${table} ${body.chain}, which the ruleset does not declare`);
    }
    if (kind === 'element' && !declared.has(`set ${table} ${body.name}`)) {
      throw schemaError(`/nftables/${i}/element/name`, `element refers to set ${table} ${body.name}, which the ruleset does not declare`);
    }
    if (kind === 'set' || kind === 'map' || kind === 'element') checkElementTimes((body as Record<string, unknown>).elem, `/nftables/${i}/${kind}/elem`);
  });
}

/**
 * An element's `timeout` and `expires` (`{"elem": {"val": …, "timeout": S}}`, a map's on its key)
 * must be whole seconds from 0 to MAX_TIMEOUT_SECONDS: nft 1.0.6 silently ignores a string such
 * as "3600" or "1h" and gives the set's default, so the revision would never read back as written
 * and drift would heal it for ever. Throws NFTSYNC_ERR_RULESET_SCHEMA naming the first bad one.
 */
function checkElementTimes(elem: unknown, at: string): void {
  if (!Array.isArray(elem)) return;
  for (let j = 0; j < elem.length; j++) {
    const e: unknown = elem[j];
    const fields = elementFields(e);
    if (fields === undefined) continue;
    for (const field of ['timeout', 'expires'] as const) {
      const v = fields[field];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT_SECONDS)) {
        const where = `${at}/${j}${Array.isArray(e) ? '/0' : ''}/elem/${field}`;
        throw schemaError(where, `an element's ${field} must be a whole number of seconds from 0 to ${MAX_TIMEOUT_SECONDS}, not ${JSON.stringify(v).slice(0, 40)} (nft ignores it, and the element would take the set's default)`);
      }
    }
  }
}

/**
 * The tables a ruleset declares, in file order: exactly what an apply replaces on the host
 * (every other table is left alone). Pure; never throws on a parsed ruleset.
 */
export function managedTables(ruleset: Ruleset): TableRef[] {
  const out: TableRef[] = [];
  for (const item of ruleset.nftables) {
    if ('table' in item) out.push({ family: item.table.family, name: item.table.name });
  }
  return out;
}
