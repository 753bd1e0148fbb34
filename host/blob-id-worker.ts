/**
 * The worker of host/blob-id-thread.ts: the git blob id of bytes in a SharedArrayBuffer, read in
 * place (no copy), or of a text given as its pieces (most of them such ranges), which it may also
 * join into shared memory as it hashes them (`into`: one pass over the bytes, each chunk copied
 * while it is still in the cache). One request at a time per message; answers carry the
 * request's id. It keeps hash states of its last texts (host/blob-id-checkpoints.ts), so a text
 * the request says shares a prefix with one of them (`resume`) is hashed from there.
 */
import { parentPort } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BlobIdCheckpoints, type BlobIdResume } from './blob-id-checkpoints.js';
import { BlobIdHasher } from './blob-id-hasher.js';

/** A piece of a text: a range of a SharedArrayBuffer (read in place), or bytes copied over. */
export type BlobIdPiece = { shared: SharedArrayBuffer; offset: number; length: number } | { bytes: Uint8Array };

/**
 * Hash `length` bytes of `shared` from `offset` as a git blob; or, with `pieces`, the text they
 * make joined (with the byte `separator` between each two, when given), `length` bytes in all,
 * and with `into`, write that text there too (`length` bytes of `into.shared` from `into.offset`).
 * With `resume`, the caller vouches that the text's first `resume.same` bytes are those of the
 * text `resume.blob` this worker hashed earlier (BlobIdCheckpoints.start): they may be skipped.
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
  resume?: BlobIdResume;
}

// The collector, called after each answer (below). Flags are the process's; only contexts made
// from now on (this one) get `gc`.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;

/**
 * The blob id, with `resumedAt` the bytes of the text not hashed (resumed from a kept state; absent
 * when hashed whole); or why there is none.
 */
export type BlobIdAnswer = { id: number; blob: string; resumedAt?: number } | { id: number; error: string };

/** The states of the last texts hashed: hash objects only, never a reference to a request's memory. */
const checkpoints = new BlobIdCheckpoints();

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
    const start = checkpoints.start(req.resume, req.length, req.algorithm);
    const into = req.into === undefined ? undefined : new Uint8Array(req.into.shared, req.into.offset, req.length);
    const hasher = new BlobIdHasher(req.algorithm, req.length, into, start);
    if (req.pieces === undefined) hasher.feed(new Uint8Array(req.shared!, req.offset, req.length));
    else {
      const separator = req.separator === undefined ? undefined : Uint8Array.of(req.separator);
      req.pieces.forEach((p, i) => {
        if (i > 0 && separator !== undefined) hasher.feed(separator);
        hasher.feed('bytes' in p ? p.bytes : new Uint8Array(p.shared, p.offset, p.length));
      });
    }
    const { blob, states } = hasher.finish();
    if (states !== undefined) checkpoints.keep(blob, req.length, req.algorithm, states);
    return { id: req.id, blob, ...(start && { resumedAt: start.at }) };
  } catch (err) {
    return { id: req.id, error: (err as Error).message };
  }
}
