/**
 * The hint for the minimal transaction (shared/ruleset/element-hint.ts) when the new revision
 * came as a delta against the one in force: the delta's line edits name the elements deleted and
 * added, so the planner need not compare a million elements. The hint is taken only as far as the
 * bytes prove it; the new bytes themselves were checked against their blob id as always.
 *
 * The layout of each revision's bytes (where its elements are, line by line) is remembered for as
 * long as the bytes are held (a WeakMap keyed by the Buffer, like verify-revision.ts): found once
 * by rendering the ruleset in force (about 0.5 s for 1,000,000 elements, while the agent is idle
 * after a start or a full fetch: knowLayout), then carried from each revision to the next by the
 * hint itself.
 */
import { elementHint, elementListChanges, patchedRuleset, type ElementHint } from '../../shared/ruleset/element-hint.js';
import type { NftCommandBatch } from '../../shared/ruleset/apply-plan.js';
import { elementDeltaBatch } from '../../shared/ruleset/minimal-transaction.js';
import { elementLayout, type ElementLayout } from '../../shared/ruleset/element-layout.js';
import type { Ruleset, TableRef } from '../../shared/ruleset/ruleset-types.js';
import type { LineEdit } from '../../shared/wire/ruleset-delta.js';
import { verifyRevision } from './verify-revision.js';

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
 * Find and remember the layout of the revision in force now, while the agent is idle, so the
 * first delta after a start or a full fetch does not (about 0.5 s for 1,000,000 elements; the
 * bytes are verified first, parsed only if they were not already). Nothing when the layout is
 * known (a delta carried it) or the bytes do not verify. Returns whether it was found now. Never throws.
 */
export function knowLayout(inForce: { bytes: Buffer; blob: string; ruleset: string; commit: string }): boolean {
  if (layouts.has(inForce.bytes)) return false;
  try {
    const { ruleset } = verifyRevision(inForce.bytes, inForce.blob, { ruleset: inForce.ruleset, commit: inForce.commit });
    layoutOf({ bytes: inForce.bytes, blob: inForce.blob, ruleset });
    return true;
  } catch {
    return false;
  }
}

/** Whether the layout of `bytes` is remembered (found, or carried by a delta's hint). */
export function layoutKnown(bytes: Buffer): boolean {
  return layouts.has(bytes);
}

/** The layout of `base`'s bytes: remembered, or found now (null: they are not renderRuleset's text, padded or not). */
function layoutOf(base: HintBase): ElementLayout | null {
  let layout = layouts.get(base.bytes);
  if (layout === undefined) {
    layout = elementLayout(base.bytes, base.ruleset) ?? null;
    layouts.set(base.bytes, layout);
  }
  return layout;
}

/**
 * Verify a fetched revision (verifyRevision: its blob id, its schema) and find the element hint
 * from `base`, the revision in force, when it came as a delta against it. When every element the
 * delta inserts is a string and its edits prove the change (shared/ruleset/element-hint.ts
 * patchedRuleset and elementHint), the new ruleset is built from `base`'s instead of parsing 15 MB
 * again (about 0.4 s for 1,000,000 elements); otherwise the bytes are parsed and the hint found as
 * deltaHint does. `opts.blobLater`: as verifyRevision's (the caller checks the blob id).
 * Errors: those of verifyRevision (a hint found or not changes none of them).
 */
export function verifyWithHint(base: HintBase | undefined, target: Omit<HintTarget, 'ruleset'> & { blob: string }, where: { ruleset: string; commit: string }, opts: { blobLater?: boolean } = {}): { ruleset: Ruleset; hint?: ElementHint } {
  const edits = target.delta?.edits;
  if (base !== undefined && edits !== undefined && target.delta?.base === base.blob) {
    const found = proven(base, edits);
    if (found !== undefined) {
      const { ruleset } = verifyRevision(target.bytes, target.blob, where, found.ruleset, opts);
      if (ruleset === found.ruleset) {
        layouts.set(target.bytes, found.layout);
        return { ruleset, hint: found.hint };
      }
    }
  }
  const { ruleset } = verifyRevision(target.bytes, target.blob, where, undefined, opts);
  const hint = base === undefined ? undefined : deltaHint(base, { ...target, ruleset });
  return hint === undefined ? { ruleset } : { ruleset, hint };
}

/** The ruleset `edits` make of `base`'s, its hint and its layout, when proven without parsing; never throws. */
function proven(base: HintBase, edits: readonly LineEdit[]): { ruleset: Ruleset; hint: ElementHint; layout: ElementLayout } | undefined {
  try {
    const layout = layoutOf(base);
    if (layout === null) return undefined;
    const ruleset = patchedRuleset(layout, base.ruleset, edits);
    if (ruleset === undefined) return undefined;
    const found = elementHint(layout, base.ruleset, ruleset, edits);
    return found && { ruleset, hint: found.hint, layout: found.layout };
  } catch {
    return undefined;
  }
}

/**
 * The minimal transaction from `base` (the revision in force) to the bytes that `edits` rebuilt
 * from its bytes, for a host whose agent owns `owned`, when it can be known before the new
 * ruleset is built: the edits only delete and insert string elements of hash sets that the plan
 * patches in place (shared/ruleset/minimal-transaction.ts elementDeltaBatch). Costs a few
 * milliseconds for 1,000 edited lines of a 1,000,000-element set (the layout of `base` must be
 * remembered already), nothing the second time for the same edits, base and tables (the same
 * batch is returned: do not change it). Undefined otherwise. Never throws.
 */
export function earlyElementBatch(base: HintBase, edits: readonly LineEdit[], owned: readonly TableRef[]): NftCommandBatch | undefined {
  const ownedKey = owned.map((t) => `${t.family} ${t.name}`).join('\n');
  const kept = foreseen.get(edits);
  if (kept !== undefined && kept.bytes === base.bytes && kept.ruleset === base.ruleset && kept.owned === ownedKey) return kept.batch;
  let batch: NftCommandBatch | undefined;
  try {
    const layout = layouts.get(base.bytes);
    if (layout === undefined || layout === null) return undefined;
    const changes = elementListChanges(layout, base.ruleset, edits);
    batch = changes && elementDeltaBatch(base.ruleset, owned, changes);
  } catch {
    return undefined;
  }
  foreseen.set(edits, { bytes: base.bytes, ruleset: base.ruleset, owned: ownedKey, batch });
  return batch;
}

/** Whether earlyElementBatch has worked out (and keeps) the batch of these very edits (tests). */
export function earlyBatchKnown(edits: readonly LineEdit[]): boolean {
  return foreseen.has(edits);
}

/**
 * earlyElementBatch's answers by the very edits array they were worked out for (with the base and
 * tables they were for): an `ahead` frame's edits are worked out while the agent waits for the
 * fetch's answer (Reconciler.foresee), and the answer carries that same array.
 */
const foreseen = new WeakMap<readonly LineEdit[], { bytes: Buffer; ruleset: Ruleset; owned: string; batch: NftCommandBatch | undefined }>();

/**
 * The element hint from `base` to `target`, or undefined when the target did not come as a delta
 * against `base`, or the edits prove nothing (see shared/ruleset/element-hint.ts). Remembers the
 * target's layout for the next delta. Never throws.
 */
export function deltaHint(base: HintBase, target: HintTarget): ElementHint | undefined {
  const edits = target.delta?.edits;
  if (edits === undefined || target.delta?.base !== base.blob) return undefined;
  try {
    const layout = layoutOf(base);
    if (layout === null) return undefined;
    const found = elementHint(layout, base.ruleset, target.ruleset, edits);
    if (found === undefined) return undefined;
    layouts.set(target.bytes, found.layout);
    return found.hint;
  } catch {
    return undefined;
  }
}

/** Layouts by the very Buffer they describe; null: those bytes are not renderRuleset's text followed by a pad of spaces (none or more). */
const layouts = new WeakMap<Buffer, ElementLayout | null>();
