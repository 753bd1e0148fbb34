/**
 * Git blob ids of big texts computed in a worker thread, so the event loop does something else
 * meanwhile: the SHA-1 of a 1,000,000-element ruleset (25 MB) takes 14 ms, and both the server
 * (after an element change) and the agent (after a delta) have other work to do in those 14 ms.
 * Only bytes in a SharedArrayBuffer go to the worker (shared/bytes/spare-buffer.ts makes them):
 * it reads them in place, so nothing is copied; the caller must not change them until the id is
 * back. A text given as pieces (idOfPieces) may also have up to 1 MiB of pieces outside shared
 * memory, copied over, and be joined there into shared memory as they are hashed (joinInto).
 * Anything else, anything small, and any failure of the worker, is hashed here at once.
 *
 * Resume: the worker keeps the hash state every 512 KiB of its last KEPT texts of 1 MiB or more
 * (host/blob-id-checkpoints.ts). A text of the same size as one of them whose first bytes the
 * caller knows to be that text's (`resume`: a change near the end of a 25 MB ruleset) is hashed
 * from the last state before the change: at most 512 KiB before it and what follows, not 25 MB.
 */
import type { Worker } from 'node:worker_threads';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { isShared } from '../shared/bytes/spare-buffer.js';
import { joinPieces } from '../shared/bytes/join-pieces.js';
import type { BlobIdAnswer, BlobIdPiece, BlobIdRequest } from './blob-id-worker.js';
import type { BlobIdResume } from './blob-id-checkpoints.js';
import { startWorker } from './start-worker.js';

/** Smaller texts are hashed here: the round trip would cost more than it spares. */
const THREAD_MIN_BYTES = 1 << 20;
/** Bytes of pieces outside shared memory a text given as pieces may have copied to the worker. */
const PIECES_COPY_MAX_BYTES = 1 << 20;

interface Pending {
  /** The bytes, or (a text given as pieces) how to make them, should this thread hash them after all. */
  bytes: Uint8Array | (() => Uint8Array);
  algorithm: 'sha1' | 'sha256';
  resolve(blob: string): void;
}

const bytesOf = (p: Pending): Uint8Array => (typeof p.bytes === 'function' ? p.bytes() : p.bytes);

export class BlobIdThread {
  #worker: Worker | undefined;
  #broken = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #lastResumedAt = 0;
  #resumedBytes = 0;

  /** Start the worker now (its start costs tens of ms), so the first id does not wait for it. */
  warm(): void {
    this.#start();
  }

  /**
   * Bytes of the text not hashed for the id that settled last, resumed from a kept state (see
   * `resume` below); 0 when it was hashed whole (in the worker or here). "Last" is the order ids
   * settle in: with several pending at once, read `resumedBytes` instead.
   */
  get lastResumedAt(): number {
    return this.#lastResumedAt;
  }

  /** Bytes of text not hashed thanks to `resume`, over every id this thread computed. */
  get resumedBytes(): number {
    return this.#resumedBytes;
  }

  /**
   * The git blob id of `bytes` (gitBlobId), computed in the worker when they lie in a
   * SharedArrayBuffer and are at least 1 MiB, else here. Never rejects: a worker that cannot
   * run or fails leaves the hash to this thread.
   *
   * `resume` (here and in idOfPieces and joinInto): the caller vouches that the first
   * `resume.same` bytes of this text are, byte for byte, the first `resume.same` bytes of the
   * text whose blob id is `resume.blob`, an id this BlobIdThread computed earlier. The worker
   * then starts from its state after the last multiple of 512 KiB at or before `same`, when it
   * kept one: only if that text was hashed in the worker, is among the last KEPT it hashed, and has
   * this text's length and algorithm; else it hashes the whole text. The claim is not checked: a
   * wrong one gives a wrong id, so claim only what is true by construction (bytes copied from
   * that text, or not written since its id was computed). When this thread hashes (no worker, a
   * small text, bytes outside shared memory, the worker failed), `resume` is ignored. When the
   * claim is true, the id is always gitBlobId of the whole text.
   */
  id(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1', resume?: BlobIdResume): Promise<string> {
    const worker = bytes.length >= THREAD_MIN_BYTES && isShared(bytes) ? this.#start() : undefined;
    if (worker === undefined) return Promise.resolve(this.#hashedHere(bytes, algorithm));
    const id = this.#nextId++;
    return new Promise<string>((resolve) => {
      this.#pending.set(id, { bytes, algorithm, resolve });
      if (this.#pending.size === 1) worker.ref();
      const req: BlobIdRequest = { id, shared: bytes.buffer as SharedArrayBuffer, offset: bytes.byteOffset, length: bytes.length, algorithm, ...(resume && { resume }) };
      worker.postMessage(req);
    });
  }

  /**
   * The git blob id of the text `pieces` make when joined (with the byte `separator` between each
   * two, when given), computed in the worker from the pieces themselves, so it can start before
   * they are copied into one Buffer (shared/bytes/join-pieces.ts). Undefined when it cannot: a
   * text under 1 MiB, no worker, or pieces outside a SharedArrayBuffer of more than 1 MiB in all
   * (they would be copied to the worker): hash the joined bytes then (`id`); also when they do not
   * make `expected` bytes, when given (a size the caller will refuse). The pieces must not change
   * until the id is back. Never rejects. `resume`: as for `id`, of the joined text.
   */
  idOfPieces(pieces: readonly Uint8Array[], separator: number | undefined, algorithm: 'sha1' | 'sha256' = 'sha1', expected?: number, resume?: BlobIdResume): Promise<string> | undefined {
    return this.#ofPieces(pieces, separator, algorithm, expected, undefined, resume);
  }

  /**
   * idOfPieces, with the text also joined into `into` as it is hashed: one pass over the bytes,
   * in the worker, so this thread copies nothing (shared/bytes/join-pieces.ts joinLayout says
   * where the pieces go; `into` is laid out as joinPieces would). `into` must lie in a
   * SharedArrayBuffer and be exactly the text's size. Its bytes are the text once the promise
   * resolves, not before: read nothing of it until then (should the worker fail, this thread
   * joins and hashes them, as idOfPieces does). Undefined, and nothing written, when it cannot (as
   * idOfPieces, or `into` is not in shared memory or not the text's size): join them then. Never
   * rejects. `resume`: as for `id`, of the joined text; every byte is still written into `into`
   * (those before the resumed state copied only, not hashed).
   */
  joinInto(pieces: readonly Uint8Array[], separator: number | undefined, algorithm: 'sha1' | 'sha256', into: Uint8Array, resume?: BlobIdResume): Promise<string> | undefined {
    if (!isShared(into)) return undefined;
    return this.#ofPieces(pieces, separator, algorithm, into.length, into, resume);
  }

  #ofPieces(pieces: readonly Uint8Array[], separator: number | undefined, algorithm: 'sha1' | 'sha256', expected: number | undefined, into: Uint8Array | undefined, resume: BlobIdResume | undefined): Promise<string> | undefined {
    let length = 0;
    let copied = 0;
    const parts: BlobIdPiece[] = pieces.map((p, i) => {
      length += p.length + (i > 0 && separator !== undefined ? 1 : 0);
      if (isShared(p)) return { shared: p.buffer as SharedArrayBuffer, offset: p.byteOffset, length: p.length };
      copied += p.length;
      // Its own bytes only: a view's whole backing buffer would go with it otherwise.
      return { bytes: new Uint8Array(p) };
    });
    if ((expected !== undefined && length !== expected) || length < THREAD_MIN_BYTES || copied > PIECES_COPY_MAX_BYTES) return undefined;
    const worker = this.#start();
    if (worker === undefined) return undefined;
    const sep = separator === undefined ? {} : { separator };
    // Should this thread hash them after all (the worker failed), they are joined where the worker would have.
    const joined = (): Uint8Array => joinPieces(pieces, into === undefined ? sep : { ...sep, alloc: () => Buffer.from(into.buffer, into.byteOffset, into.length) });
    const id = this.#nextId++;
    return new Promise<string>((resolve) => {
      this.#pending.set(id, { bytes: joined, algorithm, resolve });
      if (this.#pending.size === 1) worker.ref();
      const req: BlobIdRequest = { id, pieces: parts, ...sep, ...(into && { into: { shared: into.buffer as SharedArrayBuffer, offset: into.byteOffset } }), length, algorithm, ...(resume && { resume }) };
      worker.postMessage(req);
    });
  }

  /** Stop the worker (the pending ids are computed here). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#broken = true;
    this.#settleHere();
    await worker?.terminate();
  }

  #start(): Worker | undefined {
    if (this.#worker !== undefined || this.#broken) return this.#worker;
    let worker: Worker;
    try {
      worker = startWorker(import.meta.url, 'blob-id-worker');
    } catch {
      this.#broken = true;
      return undefined;
    }
    worker.unref();
    worker.on('message', (a: BlobIdAnswer) => {
      const p = this.#pending.get(a.id);
      if (p === undefined) return;
      this.#pending.delete(a.id);
      if (this.#pending.size === 0) worker.unref();
      if (!('blob' in a)) return p.resolve(this.#hashedHere(bytesOf(p), p.algorithm));
      this.#lastResumedAt = a.resumedAt ?? 0;
      this.#resumedBytes += this.#lastResumedAt;
      p.resolve(a.blob);
    });
    const lost = (): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#broken = true;
      this.#settleHere();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }

  /** Compute every pending id here (the worker is gone). */
  #settleHere(): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.resolve(this.#hashedHere(bytesOf(p), p.algorithm));
    }
  }

  /** gitBlobId of the whole text, here (any `resume` ignored). */
  #hashedHere(bytes: Uint8Array, algorithm: 'sha1' | 'sha256'): string {
    this.#lastResumedAt = 0;
    return gitBlobId(bytes, algorithm);
  }
}
