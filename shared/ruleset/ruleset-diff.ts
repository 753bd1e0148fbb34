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
import { Type, type Static } from '@sinclair/typebox';
import { missingFrom, normaliseRuleset, type NormalisedRuleset } from './ruleset-normalise.js';
import type { Ruleset } from './ruleset-types.js';

// The diff is an HTTP API answer (GET /api/v1/diff): each shape is declared once, as a schema,
// and its type derived from it.

/** One object present on both sides with different attributes. */
export const ObjectChange = Type.Object({
  id: Type.String(),
  from: Type.Record(Type.String(), Type.Unknown(), { description: 'attributes before (canonical; handles, comments nft drops, counters removed)' }),
  to: Type.Record(Type.String(), Type.Unknown(), { description: 'attributes after' }),
});
export type ObjectChange = Static<typeof ObjectChange>;

export const ObjectChanges = Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()), changed: Type.Array(ObjectChange) });
export type ObjectChanges = Static<typeof ObjectChanges>;

export const RuleChange = Type.Object({
  chain: Type.String({ description: "the chain's identity, `inet nft_sync input`" }),
  rule: Type.Unknown({ description: 'the rule without family/table/chain/handle, as canonical JSON parsed back' }),
});
export type RuleChange = Static<typeof RuleChange>;

export const ElementChange = Type.Object({ set: Type.String({ description: "the set's or map's identity" }), element: Type.Unknown() });
export type ElementChange = Static<typeof ElementChange>;

export const RulesetDiff = Type.Object({
  tables: ObjectChanges,
  chains: ObjectChanges,
  sets: Type.Object(ObjectChanges.properties, { description: 'sets and maps' }),
  objects: Type.Object(ObjectChanges.properties, { description: 'named stateful objects (counter, quota, limit, ...) and flowtables; id is `KIND FAMILY TABLE NAME`' }),
  rules: Type.Object({ added: Type.Array(RuleChange), removed: Type.Array(RuleChange), reordered: Type.Array(Type.String()) }),
  elements: Type.Object({ added: Type.Array(ElementChange), removed: Type.Array(ElementChange) }),
});
export type RulesetDiff = Static<typeof RulesetDiff>;

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
