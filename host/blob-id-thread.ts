/**
 * Git blob ids of big texts computed in a worker thread, so the event loop does something else
 * meanwhile: the SHA-1 of a 1,000,000-element ruleset (25 MB) takes 14 ms, and both the server
 * (after an element change) and the agent (after a delta) have other work to do in those 14 ms.
 * Only bytes in a SharedArrayBuffer go to the worker (shared/bytes/spare-buffer.ts makes them):
 * it reads them in place, so nothing is copied; the caller must not change them until the id is
 * back. Anything else, anything small, and any failure of the worker, is hashed here at once.
 */
import type { Worker } from 'node:worker_threads';
import { gitBlobId } from '../shared/git/git-blob-id.js';
import { isShared } from '../shared/bytes/spare-buffer.js';
import type { BlobIdAnswer, BlobIdRequest } from './blob-id-worker.js';
import { startWorker } from './start-worker.js';

/** Smaller texts are hashed here: the round trip would cost more than it spares. */
const THREAD_MIN_BYTES = 1 << 20;

interface Pending {
  bytes: Uint8Array;
  algorithm: 'sha1' | 'sha256';
  resolve(blob: string): void;
}

export class BlobIdThread {
  #worker: Worker | undefined;
  #broken = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** Start the worker now (its start costs tens of ms), so the first id does not wait for it. */
  warm(): void {
    this.#start();
  }

  /**
   * The git blob id of `bytes` (gitBlobId), computed in the worker when they lie in a
   * SharedArrayBuffer and are at least 1 MiB, else here. Never rejects: a worker that cannot
   * run or fails leaves the hash to this thread.
   */
  id(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): Promise<string> {
    const worker = bytes.length >= THREAD_MIN_BYTES && isShared(bytes) ? this.#start() : undefined;
    if (worker === undefined) return Promise.resolve(gitBlobId(bytes, algorithm));
    const id = this.#nextId++;
    return new Promise<string>((resolve) => {
      this.#pending.set(id, { bytes, algorithm, resolve });
      if (this.#pending.size === 1) worker.ref();
      const req: BlobIdRequest = { id, shared: bytes.buffer as SharedArrayBuffer, offset: bytes.byteOffset, length: bytes.length, algorithm };
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
      p.resolve('blob' in a ? a.blob : gitBlobId(p.bytes, p.algorithm));
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
      p.resolve(gitBlobId(p.bytes, p.algorithm));
    }
  }
}
