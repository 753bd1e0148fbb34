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

/**
 * A new empty directory under the system's temp dir, named `prefix…`, removed after `t`.
 *
 * Node 20 runs a test's `after` hooks in the order they were registered, so a process started
 * after this (startCli: a server whose repository is in here) is still running while the
 * directory goes: a file it writes meanwhile (a push's rollout state) made the removal fail with
 * ENOTEMPTY, and the failed hook skipped the one that stops the process, which then held its test
 * file until the 10-minute timeout (seen twice under load, once with 5 tries). So the hook never
 * throws: the removal tries again (5 times, 100 ms apart and more), and what is still left then is
 * removed when the test file's process exits, after every later hook (the process stopped) ran.
 */
export function makeTempDir(t: Cleanup, prefix = 'nft-sync-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch {
      removeAtExit(dir);
    }
  });
  return dir;
}

/** Directories whose removal failed in a hook: removed when the process exits. */
const leftAtExit = new Set<string>();

function removeAtExit(dir: string): void {
  if (leftAtExit.size === 0) process.once('exit', () => leftAtExit.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 3 })));
  leftAtExit.add(dir);
}

/** A new empty agent state directory (`--state-dir`), removed after `t`. */
export function makeStateDir(t: Cleanup): string {
  return makeTempDir(t, 'nft-sync-state-');
}
