/**
 * The worker of host/blob-id-thread.ts: the git blob id of bytes in a SharedArrayBuffer, read in
 * place (no copy), or of a text given as its pieces (most of them such ranges). One request at a
 * time per message; answers carry the request's id.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** A piece of a text: a range of a SharedArrayBuffer (read in place), or bytes copied over. */
export type BlobIdPiece = { shared: SharedArrayBuffer; offset: number; length: number } | { bytes: Uint8Array };

/**
 * Hash `length` bytes of `shared` from `offset` as a git blob; or, with `pieces`, the text they
 * make joined (with the byte `separator` between each two, when given), `length` bytes in all.
 */
export interface BlobIdRequest {
  id: number;
  shared?: SharedArrayBuffer;
  offset?: number;
  pieces?: BlobIdPiece[];
  separator?: number;
  length: number;
  algorithm: 'sha1' | 'sha256';
}

export type BlobIdAnswer = { id: number; blob: string } | { id: number; error: string };

parentPort?.on('message', (req: BlobIdRequest) => {
  try {
    const hash = createHash(req.algorithm).update(`blob ${req.length}\0`);
    if (req.pieces === undefined) hash.update(new Uint8Array(req.shared!, req.offset, req.length));
    else {
      const separator = req.separator === undefined ? undefined : Uint8Array.of(req.separator);
      let hashed = 0;
      req.pieces.forEach((p, i) => {
        if (i > 0 && separator !== undefined) {
          hash.update(separator);
          hashed += 1;
        }
        const bytes = 'bytes' in p ? p.bytes : new Uint8Array(p.shared, p.offset, p.length);
        hash.update(bytes);
        hashed += bytes.length;
      });
      if (hashed !== req.length) throw new Error(`pieces of ${hashed} bytes, not ${req.length}`);
    }
    const blob = hash.digest('hex');
    parentPort!.postMessage({ id: req.id, blob } satisfies BlobIdAnswer);
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message } satisfies BlobIdAnswer);
  }
});
