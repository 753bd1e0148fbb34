/**
 * Running the real git CLI: argument vectors only (no shell), a scrubbed environment, and
 * failures turned into errors that carry git's own message.
 */
import { execFile } from 'node:child_process';
import { HOST_DEFAULTS } from './defaults.js';

/** What a git run returns. */
export interface GitResult {
  stdout: string;
  stderr: string;
}

export interface RunGitOptions {
  cwd?: string;
  /** Added to the environment (after scrubbing). */
  env?: Record<string, string>;
  /** Written to git's stdin. */
  input?: string;
}

/**
 * Variables that would silently redirect git to another repository, index or config when
 * nft-sync itself runs inside a git hook or a developer's shell; we always say where to work.
 */
const SCRUBBED = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_CEILING_DIRECTORIES', 'GIT_QUARANTINE_PATH'];

/** The environment git runs with: ours minus SCRUBBED, plus `extra`. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SCRUBBED) delete env[name];
  return { ...env, LC_ALL: 'C', ...extra };
}

/**
 * Run `git ...args`. Resolves with its output when it exits 0; rejects with an Error whose
 * message is the command and git's stderr otherwise (callers wrap it in their own error code),
 * with `exitCode` set.
 */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd: options.cwd, env: gitEnv(options.env), maxBuffer: HOST_DEFAULTS.gitMaxBuffer, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          const err = new Error(`git ${args.join(' ')}: ${stderr.trim() || error.message}`, { cause: error });
          Object.assign(err, { exitCode: typeof error.code === 'number' ? error.code : undefined });
          reject(err);
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
