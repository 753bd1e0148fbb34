/**
 * The worker of host/blob-id-thread.ts: the git blob id of bytes in a SharedArrayBuffer, read in
 * place (no copy), or of a text given as its pieces (most of them such ranges), which it may also
 * join into shared memory as it hashes them (`into`: one pass over the bytes, each chunk copied
 * while it is still in the cache). One request at a time per message; answers carry the
 * request's id.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** A piece of a text: a range of a SharedArrayBuffer (read in place), or bytes copied over. */
export type BlobIdPiece = { shared: SharedArrayBuffer; offset: number; length: number } | { bytes: Uint8Array };

/**
 * Hash `length` bytes of `shared` from `offset` as a git blob; or, with `pieces`, the text they
 * make joined (with the byte `separator` between each two, when given), `length` bytes in all,
 * and with `into`, write that text there too (`length` bytes of `into.shared` from `into.offset`).
 */
export interface BlobIdRequest {
  id: number;
  shared?: SharedArrayBuffer;
  offset?: number;
  pieces?: BlobIdPiece[];
  separator?: number;
  into?: { shared: SharedArrayBuffer; offset: number };
  length: number;
  algorithm: 'sha1' | 'sha256';
}

/** Bytes hashed then copied at a time when joining (`into`): small enough to be still cached for the copy. */
const CHUNK = 256 * 1024;

export type BlobIdAnswer = { id: number; blob: string } | { id: number; error: string };

parentPort?.on('message', (req: BlobIdRequest) => {
  try {
    const hash = createHash(req.algorithm).update(`blob ${req.length}\0`);
    if (req.pieces === undefined) hash.update(new Uint8Array(req.shared!, req.offset, req.length));
    else {
      const separator = req.separator === undefined ? undefined : Uint8Array.of(req.separator);
      const into = req.into === undefined ? undefined : new Uint8Array(req.into.shared, req.into.offset, req.length);
      let hashed = 0;
      req.pieces.forEach((p, i) => {
        if (i > 0 && separator !== undefined) {
          hash.update(separator);
          into?.set(separator, hashed);
          hashed += 1;
        }
        const bytes = 'bytes' in p ? p.bytes : new Uint8Array(p.shared, p.offset, p.length);
        if (hashed + bytes.length > req.length) throw new Error(`pieces of more than ${req.length} bytes`);
        if (into === undefined) hash.update(bytes);
        else {
          for (let at = 0; at < bytes.length; at += CHUNK) {
            const chunk = bytes.subarray(at, at + CHUNK);
            hash.update(chunk);
            into.set(chunk, hashed + at);
          }
        }
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
