/**
 * The hint for the minimal transaction (shared/ruleset/element-hint.ts) when the new revision
 * came as a delta against the one in force: the delta's line edits name the elements deleted and
 * added, so the planner need not compare a million elements. The hint is taken only as far as the
 * bytes prove it; the new bytes themselves were checked against their blob id as always.
 *
 * The layout of each revision's bytes (where its elements are, line by line) is remembered for as
 * long as the bytes are held (a WeakMap keyed by the Buffer, like verify-revision.ts): found once
 * by rendering the ruleset in force (about 0.5 s for 1,000,000 elements, at the first delta after
 * a start or a full fetch), then carried from each revision to the next by the hint itself.
 */
import { elementHint, type ElementHint } from '../../shared/ruleset/element-hint.js';
import { elementLayout, type ElementLayout } from '../../shared/ruleset/element-layout.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import type { LineEdit } from '../../shared/wire/ruleset-delta.js';

/** The revision a delta was taken against: the one in force, its bytes and its parsed ruleset. */
export interface HintBase {
  bytes: Buffer;
  blob: string;
  ruleset: Ruleset;
}

/** The new revision: its bytes, how they came (a delta against `base.blob`, with its edits), and its parsed ruleset. */
export interface HintTarget {
  bytes: Buffer;
  delta?: { base: string; edits?: LineEdit[] };
  ruleset: Ruleset;
}

/**
 * The element hint from `base` to `target`, or undefined when the target did not come as a delta
 * against `base`, or the edits prove nothing (see shared/ruleset/element-hint.ts). Remembers the
 * target's layout for the next delta. Never throws.
 */
export function deltaHint(base: HintBase, target: HintTarget): ElementHint | undefined {
  const edits = target.delta?.edits;
  if (edits === undefined || target.delta?.base !== base.blob) return undefined;
  try {
    let layout = layouts.get(base.bytes);
    if (layout === undefined) {
      layout = elementLayout(base.bytes, base.ruleset) ?? null;
      layouts.set(base.bytes, layout);
    }
    if (layout === null) return undefined;
    const found = elementHint(layout, base.ruleset, target.ruleset, edits);
    if (found === undefined) return undefined;
    layouts.set(target.bytes, found.layout);
    return found.hint;
  } catch {
    return undefined;
  }
}

/** Layouts by the very Buffer they describe; null: those bytes are not renderRuleset's text. */
const layouts = new WeakMap<Buffer, ElementLayout | null>();
