/**
 * Temporary directories for tests, removed when the test ends (passed or failed): one helper
 * instead of a `mkdtempSync` + `t.after(rmSync)` pair copied into each test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Anything with `after`: a TestContext, or a suite's `after` hook wrapped as `{ after }`. */
export type Cleanup = Pick<TestContext, 'after'>;

/** A new empty directory under the system's temp dir, named `prefix…`, removed after `t`. */
export function makeTempDir(t: Cleanup, prefix = 'nft-sync-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A new empty agent state directory (`--state-dir`), removed after `t`. */
export function makeStateDir(t: Cleanup): string {
  return makeTempDir(t, 'nft-sync-state-');
}
