/**
 * The effective ruleset of a revision: the base `rulesets/NAME.json` with its element change
 * files (`rulesets/NAME.elements/NNNNNN.json`, shared/ruleset/element-log.ts) applied in name
 * order. Pure.
 *
 * The changes are first reduced to one net change per set (the last word on each element wins,
 * exactly as applying the files one after the other would decide), then each set is changed once
 * with applyElementChange: 64 change files of a 1,000,000-element set cost one pass over the set,
 * not 64.
 */
import { NftSyncError, toNftSyncError } from '../errors.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import { applyElementChange, type SetAddress } from './element-change.js';
import { parseChangeFile, type ElementChangeFile } from './element-log.js';
import { elementShape, elementToAdd, elementToDelete, jsonLongerThan, type ElementShape } from './element-value.js';
import { renderRuleset } from './render-ruleset.js';
import { countAdded, floorBase, newFloorCount, padBytes, padFloor, padOf, padUnit, type FloorCount } from './text-pad.js';
import { parseRuleset } from './ruleset-schema.js';
import { itemBody, itemKind } from './ruleset-items.js';
import type { Ruleset } from './ruleset-types.js';

export type { FloorCount } from './text-pad.js';

/** A file as the composer reads it: its path in the repository (for messages) and its bytes. */
export interface RulesetFile {
  path: string;
  bytes: Buffer | string;
}

/** Where an element of the net change came from: change file `file`, list, index there. */
interface Origin {
  file: number;
  list: 'add' | 'delete';
  index: number;
}

/** The error `err` said of change file `path` (its code kept; `data.path` added). */
function ofFile(path: string, err: unknown, where = ''): NftSyncError {
  const e = toNftSyncError(err);
  return new NftSyncError(e.code, `${path}${where}: ${e.message}`, { data: { ...e.data, path }, cause: e });
}

/** The declared set or map `at` of `ruleset` and its element shape, or undefined. */
function declaration(ruleset: Ruleset, at: SetAddress): ElementShape | undefined {
  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    const b = itemBody(item);
    if ((kind === 'set' || kind === 'map') && b.family === at.family && b.table === at.table && b.name === at.name) return elementShape(kind, b);
  }
  return undefined;
}

/**
 * Apply `changes` (parsed change files; `paths[i]` names `changes[i]` in errors) to `ruleset`, in
 * order, changing it in place, and return it. `added`, when given, counts what the files add
 * (text-pad.ts countAdded: every element of their `add` lists).
 *
 * Errors (each message starts with the change file's path; `data.path` names it):
 * NFTSYNC_ERR_SET_NOT_FOUND (a change file names a set or map the base does not declare),
 * NFTSYNC_ERR_ELEMENT_INVALID (an element does not fit its set, is too long, or an added interval
 * overlaps another). On an error the ruleset may be partly changed: parse it again.
 */
export function applyChangeFiles(ruleset: Ruleset, changes: readonly ElementChangeFile[], paths: readonly string[], added?: FloorCount): Ruleset {
  const bySet = new Map<string, { at: SetAddress; shape: ElementShape; net: Map<string, { raw: unknown; origin: Origin }> }>();
  const maxChars = SHARED_DEFAULTS.elements.maxElementChars;
  changes.forEach((change, file) => {
    const path = paths[file] ?? `change ${file + 1}`;
    const at = change.set;
    const key = `${at.family}\0${at.table}\0${at.name}`;
    let entry = bySet.get(key);
    if (entry === undefined) {
      const shape = declaration(ruleset, at);
      if (shape === undefined) {
        throw new NftSyncError('NFTSYNC_ERR_SET_NOT_FOUND', `${path}: changes the elements of ${at.family}/${at.table}/${at.name}, which the base ruleset does not declare: declare it in the base, or delete this change file`, {
          data: { path, set: `${at.family} ${at.table} ${at.name}` },
        });
      }
      entry = { at, shape, net: new Map() };
      bySet.set(key, entry);
    }
    const { shape, net } = entry;
    for (const list of ['delete', 'add'] as const) {
      change[list].forEach((raw, index) => {
        const where = ` (${list}[${index}])`;
        if (jsonLongerThan(raw, maxChars)) throw ofFile(path, new NftSyncError('NFTSYNC_ERR_ELEMENT_INVALID', `an element is longer than ${maxChars} characters of JSON`), where);
        const c = list === 'add' ? elementToAdd(shape, raw) : elementToDelete(shape, raw);
        if (!c.ok) throw ofFile(path, new NftSyncError('NFTSYNC_ERR_ELEMENT_INVALID', `element ${JSON.stringify(raw).slice(0, 300)} does not fit ${shape.kind} ${at.family} ${at.table} ${at.name}: ${c.reason}`), where);
        const id = typeof c.value === 'string' ? c.value : c.value.id;
        if (added !== undefined && typeof c.value !== 'string') countAdded(added, key, id, Buffer.byteLength(JSON.stringify(c.value.value)));
        // Re-inserted, so adds keep the order of their last word.
        net.delete(id);
        net.set(id, { raw, origin: { file, list, index } });
      });
    }
  });
  for (const { at, net } of bySet.values()) {
    const add: unknown[] = [];
    const del: unknown[] = [];
    const addFrom: Origin[] = [];
    const delFrom: Origin[] = [];
    for (const { raw, origin } of net.values()) {
      if (origin.list === 'add') {
        add.push(raw);
        addFrom.push(origin);
      } else {
        del.push(raw);
        delFrom.push(origin);
      }
    }
    try {
      applyElementChange(ruleset, at, { add, delete: del });
    } catch (err) {
      const e = toNftSyncError(err);
      const i = typeof e.data?.index === 'number' ? e.data.index : -1;
      const origin = (e.data?.list === 'delete' ? delFrom : addFrom)[i];
      if (origin === undefined) throw ofFile(paths[0] ?? 'change files', e);
      throw ofFile(paths[origin.file] ?? `change ${origin.file + 1}`, e, ` (${origin.list}[${origin.index}])`);
    }
  }
  return ruleset;
}

/**
 * The effective ruleset of `base` and its change files `changes` (in the order to apply them),
 * parsed. Errors: those of parseRuleset for the base and of parseChangeFile for each change file
 * (messages prefixed with the file's path, `data.path` naming it), and those of applyChangeFiles.
 * `added`, when given, is filled in for the text's pad (text-pad.ts FloorCount): the base's share
 * (floorBase; a big base not written by a fold is rendered once for it) and what the files add.
 */
export function composeRuleset(base: RulesetFile, changes: readonly RulesetFile[], added?: FloorCount): Ruleset {
  let ruleset: Ruleset;
  try {
    ruleset = parseRuleset(base.bytes);
  } catch (err) {
    throw ofFile(base.path, err);
  }
  const parsed = changes.map((c) => {
    try {
      return parseChangeFile(c.bytes);
    } catch (err) {
      throw ofFile(c.path, err);
    }
  });
  if (added !== undefined) added.base = floorBase(typeof base.bytes === 'string' ? Buffer.from(base.bytes) : base.bytes, () => Buffer.byteLength(renderRuleset(ruleset)));
  return applyChangeFiles(ruleset, parsed, changes.map((c) => c.path), added);
}

/**
 * The effective ruleset's text, as served to agents and the API: renderRuleset's form (one
 * element a line), then, for a base of PAD_MIN_BASE_BYTES or more, its pad (text-pad.ts). Without
 * change files, the base's own text, untouched (not re-rendered: its blob id stays the one in the
 * repository). Errors: composeRuleset's.
 */
export function composeRulesetText(base: RulesetFile, changes: readonly RulesetFile[]): string | Buffer {
  if (changes.length === 0) return base.bytes;
  const added = newFloorCount();
  return composedTextOf(composeRuleset(base, changes, added), base.bytes, added);
}

/**
 * The text composeRulesetText serves for `ruleset`, composed (with at least one change file) on
 * the base file `baseBytes`, its change files having added `added` (composeRuleset's): renderRuleset's
 * text, then the pad for that base (text-pad.ts). For a caller that has the ruleset composed
 * already (its blob id: server/publish/publish-revision.ts). Pure.
 */
export function composedTextOf(ruleset: Ruleset, baseBytes: Buffer | string, added: FloorCount): string | Buffer {
  const text = renderRuleset(ruleset);
  const unit = padUnit(typeof baseBytes === 'string' ? Buffer.byteLength(baseBytes) : baseBytes.length);
  if (unit === 0) return text;
  const bytes = Buffer.from(text);
  return Buffer.concat([bytes, padOf(padBytes(bytes.length, unit, padFloor(added)))]);
}
