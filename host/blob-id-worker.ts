/**
 * The worker of host/blob-id-thread.ts: the git blob id of bytes in a SharedArrayBuffer, read in
 * place (no copy), or of a text given as its pieces (most of them such ranges), which it may also
 * join into shared memory as it hashes them (`into`: one pass over the bytes, each chunk copied
 * while it is still in the cache). One request at a time per message; answers carry the
 * request's id.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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

// The collector, called after each answer (below). Flags are the process's; only contexts made
// from now on (this one) get `gc`.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;

/** Bytes hashed then copied at a time when joining (`into`): small enough to be still cached for the copy. */
const CHUNK = 256 * 1024;

export type BlobIdAnswer = { id: number; blob: string } | { id: number; error: string };

parentPort?.on('message', (message: BlobIdRequest) => {
  let req: BlobIdRequest | undefined = message;
  const answer = answerTo(req);
  req = undefined;
  parentPort!.postMessage(answer);
  // The shared memory the request named (the pieces, the block the text is joined into) is let
  // go now: this heap makes next to no garbage, so its next collection may be dozens of requests
  // away, each of them keeping a block of the text's size mapped (a 25 MB text: 30 MB a change;
  // 666 MB over 20 joins of 32 MB). A minor collection of this small heap: well under a millisecond.
  collect({ type: 'minor' });
});

/** The answer to `req`: its blob id, or why there is none. Never throws. */
function answerTo(req: BlobIdRequest): BlobIdAnswer {
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
    return { id: req.id, blob: hash.digest('hex') };
  } catch (err) {
    return { id: req.id, error: (err as Error).message };
  }
}
