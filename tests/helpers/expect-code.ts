/**
 * Assert that a call or a promise fails with an NftSyncError of one catalogue code, and return
 * the error for further checks. One helper instead of `assert.rejects(p, (e) => e.code === …)`
 * copied into every test.
 */
import assert from 'node:assert/strict';
import { NftSyncError, type ErrorCode } from '../../shared/errors.js';

function check(err: unknown, code: ErrorCode): NftSyncError {
  assert.ok(err instanceof NftSyncError, `expected NftSyncError ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

/** `promise` (or the promise `fn()` returns) rejects with NftSyncError `code`; resolves to the error. */
export function expectCode(promise: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<NftSyncError>;
/** `fn()` throws NftSyncError `code` (synchronously); returns the error. */
export function expectCode(fn: () => unknown, code: ErrorCode): NftSyncError;
export function expectCode(what: Promise<unknown> | (() => unknown), code: ErrorCode): NftSyncError | Promise<NftSyncError> {
  const fail = (): never => assert.fail(`expected NftSyncError ${code}, but it succeeded`);
  if (typeof what === 'function') {
    let result: unknown;
    try {
      result = what();
    } catch (err) {
      return check(err, code);
    }
    if (result instanceof Promise) return result.then(fail, (err: unknown) => check(err, code));
    return fail();
  }
  return what.then(fail, (err: unknown) => check(err, code));
}
