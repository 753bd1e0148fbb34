/**
 * What the drift watcher needs to know about the revision in force, computed once per blob: is
 * it big (more set elements than a listing should pay for), and how does each declared set's
 * keys read. The bytes were verified when they were applied, so a plain JSON.parse is enough
 * (the schema check costs twice as much: 0.6 s for 1,000,000 elements). The element arrays are
 * not kept: the summary stays small however big the set.
 */
import { setShape, type Result, type SetShape } from '../../shared/ruleset/element-key.js';
import type { SetRef } from '../../shared/drift/element-drift.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import { itemBody } from '../../shared/ruleset/ruleset-items.js';
import { AUTO_FULL_MAX_ELEMENTS } from '../reconcile/read-back.js';

export interface RevisionSummary {
  blob: string;
  /** More set elements than AUTO_FULL_MAX_ELEMENTS: no listing of elements, ever. */
  big: boolean;
  elements: number;
  /** Declared sets (not maps) by `family table name`, with their key shape or why there is none. */
  sets: Map<string, Result<SetShape>>;
}

export const setId = (r: SetRef): string => `${r.family} ${r.table} ${r.name}`;

/** The summary of `bytes` (a verified ruleset). Errors: a SyntaxError for bytes that are not JSON. */
export function summariseRevision(blob: string, bytes: Buffer): RevisionSummary {
  const ruleset = JSON.parse(bytes.toString('utf8')) as Ruleset;
  let elements = 0;
  const sets = new Map<string, Result<SetShape>>();
  for (const item of ruleset.nftables) {
    const body = itemBody(item);
    if (Array.isArray(body.elem)) elements += body.elem.length;
    if ('set' in item) sets.set(setId(body as unknown as SetRef), setShape(body));
  }
  return { blob, big: elements > AUTO_FULL_MAX_ELEMENTS, elements, sets };
}

/** The declared `elem` array of set `ref` in `bytes` (empty when it declares none). Errors: as JSON.parse. */
export function declaredElements(bytes: Buffer, ref: SetRef): unknown[] {
  const ruleset = JSON.parse(bytes.toString('utf8')) as Ruleset;
  for (const item of ruleset.nftables) {
    if (!('set' in item)) continue;
    const body = itemBody(item);
    if (body.family === ref.family && body.table === ref.table && body.name === ref.name) return Array.isArray(body.elem) ? body.elem : [];
  }
  return [];
}
