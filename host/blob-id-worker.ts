/**
 * The worker of host/blob-id-thread.ts: the git blob id of bytes in a SharedArrayBuffer, read in
 * place (no copy). One request at a time per message; answers carry the request's id.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** Hash `length` bytes of `shared` from `offset` as a git blob. */
export interface BlobIdRequest {
  id: number;
  shared: SharedArrayBuffer;
  offset: number;
  length: number;
  algorithm: 'sha1' | 'sha256';
}

export type BlobIdAnswer = { id: number; blob: string } | { id: number; error: string };

parentPort?.on('message', (req: BlobIdRequest) => {
  try {
    const bytes = new Uint8Array(req.shared, req.offset, req.length);
    const blob = createHash(req.algorithm).update(`blob ${req.length}\0`).update(bytes).digest('hex');
    parentPort!.postMessage({ id: req.id, blob } satisfies BlobIdAnswer);
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message } satisfies BlobIdAnswer);
  }
});
