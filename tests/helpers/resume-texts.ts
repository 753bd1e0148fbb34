/**
 * Texts for the blob-id worker's resume tests (host/blob-id-checkpoints.ts): random bytes in
 * shared memory, and a text that is another one up to a given byte.
 */
import { randomFillSync, randomInt } from 'node:crypto';
import { CHECKPOINT } from '../../host/blob-id-checkpoints.js';
import { sharedBuffer } from '../../shared/bytes/spare-buffer.js';

/** Random bytes in shared memory: `size` of them, 3-5 MB when not given. */
export const randomText = (size = randomInt(3 << 20, 5 << 20)): Buffer => randomFillSync(sharedBuffer(size));

/** `text` with its bytes from `from` on changed (random, and the byte at `from` surely), in new shared memory. */
export function changedFrom(text: Buffer, from: number): Buffer {
  const next = sharedBuffer(text.length);
  text.copy(next);
  randomFillSync(next, from);
  if (from < next.length) next[from] = text[from]! ^ 1;
  return next;
}

/** The last checkpoint at or before `same`: where a resumed hash starts. */
export const floorCheckpoint = (same: number): number => Math.floor(same / CHECKPOINT) * CHECKPOINT;
