/**
 * Throwaway git repositories for integration tests: a temporary directory removed after the
 * test (pass or fail), and a `git` runner that works without any global git identity.
 */
import { execFileSync } from 'node:child_process';
import { makeTempDir } from './temp-dir.js';

/** A fresh temporary directory, removed after the test (temp-dir.ts makeTempDir). */
export const tempDir = makeTempDir;

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
