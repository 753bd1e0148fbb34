/**
 * Throwaway git repositories for integration tests: a temporary directory removed after the
 * test (pass or fail), and a `git` runner that works without any global git identity.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh temporary directory, removed in `t.after`. Node 20 runs a test's `after` hooks in the
 * order they were registered, so a process started after this (startCli: a server whose
 * repository is in here) is still running while the directory goes: a file it writes meanwhile
 * (a push's rollout state) made the removal fail with ENOTEMPTY, and the failed hook skipped the
 * one that stops the process, which then held its test file until the 10-minute timeout (twice,
 * under load, with 5 tries). So the hook never throws: the removal tries again (5 times, 100 ms
 * apart and more), and what is still left then is removed when the test file's process exits,
 * after every later hook (the process stopped) has run.
 */
export function tempDir(t: Pick<TestContext, 'after'>, prefix = 'nft-sync-test-'): string {
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

/** Environment for test git runs: a fixed identity, no user or system config, no redirects. */
export function testGitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GIT_')) delete env[k];
  return {
    ...env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    LC_ALL: 'C',
  };
}

/** Run git in `cwd`; returns trimmed stdout; throws with stderr on failure. */
export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: testGitEnv(), input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}
