/**
 * Waiting for a condition in a test instead of sleeping a guessed time and then asserting: one
 * helper instead of the `until`/`waitFor` loops copied into each test file. The deadline only
 * bounds a wait that would otherwise hang (the condition usually holds long before it).
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';

export interface WaitOptions {
  /** Give up after this long (default 5 s); the test then fails naming `what`. */
  timeoutMs?: number;
  /** Poll this often (default 20 ms). */
  intervalMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

/**
 * Resolve with the first truthy value `predicate` returns (it is called at once, then every
 * `intervalMs`; a predicate that throws counts as not yet). Fails the test with an
 * AssertionError after `timeoutMs`, naming `what` and the predicate's last error, if any.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 5000, intervalMs = 20, what = predicate.toString().slice(0, 120) } = opts;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Resolve with the arguments of the first `event` from `emitter` that `match` accepts (any, by
 * default). Fails the test after `timeoutMs`. The listener is removed either way.
 */
export function waitForEvent<A extends unknown[]>(emitter: EventEmitter, event: string, match: (...args: A) => boolean = () => true, opts: Omit<WaitOptions, 'intervalMs'> = {}): Promise<A> {
  const { timeoutMs = 5000, what = `'${event}'` } = opts;
  return new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new assert.AssertionError({ message: `timed out after ${timeoutMs} ms waiting for ${what}` }));
    }, timeoutMs);
    function on(...args: unknown[]): void {
      if (!match(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as A);
    }
    emitter.on(event, on);
  });
}

/** `waitFor(predicate, { what, timeoutMs })` with the description first, as most call sites read. */
export function waitUntil<T>(what: string, predicate: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  return waitFor(predicate, { what, timeoutMs });
}
