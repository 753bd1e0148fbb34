/**
 * The git blob id of bytes the agent holds, computed once per Buffer: a 1,000,000-element
 * ruleset is about 20 MB, whose SHA-1 takes 11-15 ms, and one fetched revision is checked where
 * it arrives (agent/wire/fetch-answer.ts deltaRefusal), where it is verified
 * (agent/reconcile/verify-revision.ts) and where it is stored (agent/state/state-store.ts).
 *
 * Remembered by the very Buffer (a WeakMap: gone with the bytes). Every hash is still of the
 * bytes themselves, never of a server's word; a Buffer is not changed once fetched or loaded
 * (the agent never writes into one), which is what makes the remembered id theirs. An id may
 * also be remembered as computed elsewhere of these very bytes (rememberBlobId: the wire client
 * hashes a delta's rebuilt bytes in a worker thread, host/blob-id-thread.ts).
 */
import { gitBlobId } from '../shared/git/git-blob-id.js';

const known = new WeakMap<Uint8Array, { sha1?: string; sha256?: string }>();

/** gitBlobId(bytes, algorithm), computed at most once per Buffer. Never throws. */
export function knownBlobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  let ids = known.get(bytes);
  if (ids === undefined) {
    ids = {};
    known.set(bytes, ids);
  }
  return (ids[algorithm] ??= gitBlobId(bytes, algorithm));
}

/**
 * Remember `id` as gitBlobId(bytes, algorithm), computed of these very bytes elsewhere (in a
 * worker thread: host/blob-id-thread.ts); never a server's word. Never throws.
 */
export function rememberBlobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256', id: string): void {
  let ids = known.get(bytes);
  if (ids === undefined) {
    ids = {};
    known.set(bytes, ids);
  }
  ids[algorithm] = id;
}

/** The id of `bytes` when it is remembered (computed or told before), without computing it. */
export function rememberedBlobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string | undefined {
  return known.get(bytes)?.[algorithm];
}
