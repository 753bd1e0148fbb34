/**
 * Composing a big ruleset off the event loop: composeRulesetText (shared/ruleset/compose-ruleset.ts)
 * run in one worker thread (server/git/compose-worker.ts), started at the first request and
 * stopped after a quiet while (its heap, hundreds of MB after a 1,000,000-element set, goes with
 * it). A 1,000,000-element set takes seconds to parse and render; on the event loop that would
 * hold every agent's fetch and heartbeat, and the API, meanwhile.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../host/start-worker.js';
import { NftSyncError, type ErrorCode } from '../../shared/errors.js';
import { composeRulesetText, type RulesetFile } from '../../shared/ruleset/compose-ruleset.js';
import { ComposedText } from '../../shared/ruleset/composed-text.js';
import { parseChangeFile } from '../../shared/ruleset/element-log.js';
import type { ComposeAnswer, ComposeRequest } from './compose-worker.js';

/** A worker left idle this long is stopped. */
const IDLE_MS = 30_000;

interface Pending {
  done(answer: ComposeAnswer): void;
  fail(err: Error): void;
}

export class ComposeThread {
  #worker: Worker | undefined;
  #idle: NodeJS.Timeout | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /**
   * The effective text of `base` with `changes` applied, composed in the worker: the bytes
   * composeRulesetText gives. Errors: composeRulesetText's, with their codes and data; if the
   * worker cannot run or dies, the text is composed here instead (on the event loop).
   */
  compose(base: RulesetFile, changes: readonly RulesetFile[]): Promise<Buffer> {
    const here = (): Buffer => Buffer.from(composeRulesetText(base, changes));
    return this.#ask({ id: 0, kind: 'compose', base, changes: [...changes] }, []).then(
      (a) => {
        if ('text' in a) return Buffer.from(a.text.buffer, a.text.byteOffset, a.text.byteLength);
        if ('error' in a) throw new NftSyncError(a.error.code as ErrorCode, a.error.message, a.error.data ? { data: a.error.data } : {});
        return here();
      },
      () => here(),
    );
  }

  /**
   * The element API's tip of a ruleset (ComposedText.build of `base` and its change files, in
   * order), built in the worker; undefined when it cannot be followed. If the worker cannot run
   * or dies, it is built here instead. Never throws.
   */
  follow(base: Buffer, changes: readonly Buffer[]): Promise<ComposedText | undefined> {
    const here = (): ComposedText | undefined => {
      try {
        return ComposedText.build(base, changes.map((c) => parseChangeFile(c)));
      } catch {
        return undefined;
      }
    };
    // Copies the worker may keep: the server's cached Buffers stay where they are.
    const copy = (b: Buffer): Uint8Array => Uint8Array.prototype.slice.call(b);
    const sent = { base: copy(base), changes: changes.map(copy) };
    return this.#ask({ id: 0, kind: 'follow', ...sent }, [sent.base.buffer as ArrayBuffer, ...sent.changes.map((c) => c.buffer as ArrayBuffer)]).then(
      (a) => ('followed' in a ? (a.followed === null ? undefined : ComposedText.fromState(a.followed)) : here()),
      () => here(),
    );
  }

  /** Send `request` (its id assigned here) and wait for the answer; rejects when the worker cannot run or is lost. */
  #ask(request: ComposeRequest, transfer: ArrayBuffer[]): Promise<ComposeAnswer> {
    let worker: Worker;
    try {
      worker = this.#ensure();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = this.#nextId++;
    clearTimeout(this.#idle);
    return new Promise<ComposeAnswer>((done, fail) => {
      this.#pending.set(id, { done, fail });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Stop the worker (requests in flight are composed here instead). */
  async close(): Promise<void> {
    clearTimeout(this.#idle);
    const w = this.#worker;
    this.#worker = undefined;
    this.#lost(new Error('closed'));
    await w?.terminate();
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker(import.meta.url, 'compose-worker');
    worker.unref();
    worker.on('message', (m: ComposeAnswer) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      p?.done(m);
      if (this.#pending.size === 0) {
        this.#idle = setTimeout(() => void this.close(), IDLE_MS);
        this.#idle.unref();
      }
    });
    const lost = (): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#lost(new Error('the compose worker stopped'));
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }

  /** Fail every request in flight with `err` (they are done on the event loop instead). */
  #lost(err: Error): void {
    for (const p of this.#pending.values()) p.fail(err);
    this.#pending.clear();
  }
}
