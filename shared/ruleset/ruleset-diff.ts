/**
 * Structured, object-level diff of two rulesets: which tables, chains, sets/maps, named objects,
 * rules and set elements were added, removed or changed. Built on normaliseRuleset, so handles,
 * item order, element order and what nft forgets on reload never show up as changes.
 *
 * Identities are the object's place without its kind: `inet nft_sync` (a table),
 * `inet nft_sync input` (a chain, a set, a named object). Rules have no identity of their own in
 * nft (handles are per host), so a rule is "its chain plus its canonical JSON": an edited rule is
 * reported as one removed and one added; a moved rule is not a change of content and shows up in
 * `rules.reordered`.
 */
import { missingFrom, normaliseRuleset, type NormalisedRuleset } from './ruleset-normalise.js';
import type { Ruleset } from './ruleset-types.js';

export interface ObjectChange {
  id: string;
  /** Attributes before and after (canonical; handles, comments nft drops, counters removed). */
  from: Record<string, unknown>;
  to: Record<string, unknown>;
}

export interface ObjectChanges {
  added: string[];
  removed: string[];
  changed: ObjectChange[];
}

export interface RuleChange {
  /** The chain's identity, `inet nft_sync input`. */
  chain: string;
  /** The rule without family/table/chain/handle, as canonical JSON parsed back. */
  rule: unknown;
}

export interface ElementChange {
  /** The set's or map's identity. */
  set: string;
  element: unknown;
}

export interface RulesetDiff {
  tables: ObjectChanges;
  chains: ObjectChanges;
  /** Sets and maps. */
  sets: ObjectChanges;
  /** Named stateful objects (counter, quota, limit, ...) and flowtables; id is `KIND FAMILY TABLE NAME`. */
  objects: ObjectChanges;
  rules: { added: RuleChange[]; removed: RuleChange[]; reordered: string[] };
  elements: { added: ElementChange[]; removed: ElementChange[] };
}

/** True when `d` records no difference at all. */
export function isEmptyDiff(d: RulesetDiff): boolean {
  const objs = [d.tables, d.chains, d.sets, d.objects].every((o) => o.added.length + o.removed.length + o.changed.length === 0);
  return objs && d.rules.added.length + d.rules.removed.length + d.rules.reordered.length + d.elements.added.length + d.elements.removed.length === 0;
}

function emptyChanges(): ObjectChanges {
  return { added: [], removed: [], changed: [] };
}

/** Which bucket an object key of NormalisedRuleset belongs to, and its identity there. */
function classify(key: string): { bucket: 'tables' | 'chains' | 'sets' | 'objects'; id: string } {
  const space = key.indexOf(' ');
  const kind = key.slice(0, space);
  const rest = key.slice(space + 1);
  if (kind === 'table') return { bucket: 'tables', id: rest };
  if (kind === 'chain') return { bucket: 'chains', id: rest };
  if (kind === 'set' || kind === 'map') return { bucket: 'sets', id: rest };
  return { bucket: 'objects', id: key };
}

/**
 * The structured diff from `a` to `b` (both normalised). Lists are sorted by identity; rules and
 * elements keep their order within a chain or set. Pure; never throws.
 */
export function diffNormalisedStructured(a: NormalisedRuleset, b: NormalisedRuleset): RulesetDiff {
  const out: RulesetDiff = {
    tables: emptyChanges(),
    chains: emptyChanges(),
    sets: emptyChanges(),
    objects: emptyChanges(),
    rules: { added: [], removed: [], reordered: [] },
    elements: { added: [], removed: [] },
  };
  for (const key of [...new Set([...Object.keys(a.objects), ...Object.keys(b.objects)])].sort()) {
    const x = a.objects[key];
    const y = b.objects[key];
    const { bucket, id } = classify(key);
    if (x === undefined) out[bucket].added.push(id);
    else if (y === undefined) out[bucket].removed.push(id);
    else if (JSON.stringify(x) !== JSON.stringify(y)) out[bucket].changed.push({ id, from: x, to: y });
  }
  for (const chain of [...new Set([...Object.keys(a.rules), ...Object.keys(b.rules)])].sort()) {
    const x = a.rules[chain] ?? [];
    const y = b.rules[chain] ?? [];
    const removed = missingFrom(x, y);
    const added = missingFrom(y, x);
    for (const r of removed) out.rules.removed.push({ chain, rule: JSON.parse(r) });
    for (const r of added) out.rules.added.push({ chain, rule: JSON.parse(r) });
    if (removed.length === 0 && added.length === 0 && x.join('\n') !== y.join('\n')) out.rules.reordered.push(chain);
  }
  for (const set of [...new Set([...Object.keys(a.elements), ...Object.keys(b.elements)])].sort()) {
    const x = a.elements[set] ?? [];
    const y = b.elements[set] ?? [];
    for (const e of missingFrom(x, y)) out.elements.removed.push({ set, element: JSON.parse(e) });
    for (const e of missingFrom(y, x)) out.elements.added.push({ set, element: JSON.parse(e) });
  }
  return out;
}

/** The structured diff from ruleset `a` to ruleset `b`. Pure; never throws on parsed rulesets. */
export function diffRulesets(a: Ruleset, b: Ruleset): RulesetDiff {
  return diffNormalisedStructured(normaliseRuleset(a), normaliseRuleset(b));
}
