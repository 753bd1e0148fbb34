/**
 * Reconcile step "read back": what nft lists now against the revision just applied
 * (read-back.ts). It never ends the pass: the transaction has happened, so whatever the
 * read-back finds goes on to the confirm window and is recorded with the revision.
 */
import type { Applied } from './apply-step.js';
import { readBack, type ReadBack } from './read-back.js';
import { next, type PassContext, type StepResult } from './reconcile-step.js';

/** An applied revision and what its read-back found. */
export interface ReadBackDone extends Applied {
  readback: ReadBack;
}

/** Read `applied` back ('auto' mode). Never throws, never ends the pass. */
export async function readBackStep(ctx: PassContext, applied: Applied): Promise<StepResult<ReadBackDone>> {
  // A full load put every element in just now (its duration ago at most): an element with a longer timeout cannot have expired.
  const loadedAt = applied.transaction.transaction.kind === 'full' ? performance.now() - applied.transaction.durationMs : undefined;
  return next({ ...applied, readback: await readBack(ctx.opts.nft, applied.plan.ruleset, 'auto', { loadedAt }) });
}
