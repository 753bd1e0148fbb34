/**
 * Running the real git CLI through simple-git: argument vectors only (no shell), a scrubbed
 * environment, and failures turned into errors that carry git's own message and exit code.
 *
 * simple-git guards the environment too: it drops every ambient GIT_* variable, refuses one
 * passed explicitly unless allowed, and refuses variables that run programs or move config
 * (GIT_SSH_COMMAND, GIT_CONFIG_GLOBAL...) unless their guard is lifted. Here the environment is
 * decided once, by gitEnv (ours minus the variables that redirect git, plus the caller's), and
 * passed whole and allowed, with the guards of the variables present lifted (ENV_GUARDS): the
 * environment is the operator's and ours, so git sees what it saw before simple-git (a hook's
 * quarantine variables, an identity for a commit, a user's GIT_SSL_CAINFO or GIT_CONFIG_GLOBAL).
 * simple-git's guards on arguments stay on; a caller that needs one lifted names it (`unsafe`).
 *
 * Streams that move packs and many objects (`git http-backend`, `cat-file --batch`) stay on
 * child_process, where the bytes can be piped as they come.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { GitError, simpleGit, type SimpleGit, type SimpleGitOptions } from 'simple-git';
import { HOST_DEFAULTS } from './defaults.js';

/** What a git run returns. */
export interface GitResult {
  stdout: string;
}

export interface RunGitOptions {
  /** The repository (GIT_DIR; relative to `cwd`); also the working directory unless `cwd` is given. */
  gitdir?: string;
  /** Working directory (default: `gitdir`, else the process's). */
  cwd?: string;
  /** Added to the environment (after scrubbing). */
  env?: Record<string, string>;
  /** Written to git's stdin; must not be empty (git would wait for it). */
  input?: string;
  /**
   * Every non-zero exit is an error (runGit). Otherwise simple-git's rule holds: a non-zero exit
   * with nothing on stderr is an answer (`config --get` of an unset key), not a failure.
   */
  strict?: boolean;
  /** simple-git argument guards to lift, e.g. `allowUnsafeTemplateDir` for `init --template=`. */
  unsafe?: SimpleGitOptions['unsafe'];
  /**
   * Config keys this run writes (`git config KEY VALUE`, `-c KEY=VALUE`) that simple-git does not
   * list as safe, e.g. `receive.denyNonFastForwards`. simple-git 4.1 warns on stderr for each
   * unlisted key (SIMPLE_GIT_UNLISTED_CONFIG) and its next major version refuses them; 4.0
   * ignores the option.
   */
  allowConfig?: readonly string[];
  /**
   * Stop git (the process is killed) when this aborts: the run then rejects with git's command
   * and `stopped: REASON`. A git talking to a remote that never answers would otherwise run forever.
   */
  signal?: AbortSignal;
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
 * simple-git's guard for each environment variable it refuses (@simple-git/argv-parser's table,
 * lower-cased names). A variable missing here that simple-git guards makes git runs fail loudly
 * (`Use of "X" is not permitted`), never pass silently.
 */
const ENV_GUARDS: Readonly<Record<string, keyof NonNullable<SimpleGitOptions['unsafe']>>> = {
  editor: 'allowUnsafeEditor', git_editor: 'allowUnsafeEditor', git_sequence_editor: 'allowUnsafeEditor', visual: 'allowUnsafeEditor',
  git_askpass: 'allowUnsafeAskPass', ssh_askpass: 'allowUnsafeAskPass',
  git_config_global: 'allowUnsafeConfigPaths', git_config_system: 'allowUnsafeConfigPaths', git_config: 'allowUnsafeConfigPaths', prefix: 'allowUnsafeConfigPaths',
  git_config_count: 'allowUnsafeConfigEnvCount', git_config_parameters: 'allowUnsafeConfigEnvCount',
  git_exec_path: 'allowUnsafeExec', git_external_diff: 'allowUnsafeDiffExternal', git_pager: 'allowUnsafePager', pager: 'allowUnsafePager',
  git_proxy_command: 'allowUnsafeGitProxy', git_template_dir: 'allowUnsafeTemplateDir', git_ssh: 'allowUnsafeSshCommand', git_ssh_command: 'allowUnsafeSshCommand',
};

/** The guards to lift for `env`'s variables, plus `extra`. */
function envGuards(env: Record<string, string>, extra: SimpleGitOptions['unsafe'] = {}): SimpleGitOptions['unsafe'] {
  const unsafe: Record<string, boolean> = { ...extra };
  for (const key of Object.keys(env)) {
    const guard = ENV_GUARDS[key.toLowerCase()];
    if (guard) unsafe[guard] = true;
  }
  return unsafe;
}

/**
 * An error from git: `what` and git's stderr, with `exitCode`. A GitError, because simple-git
 * passes those through as they are and wraps anything else into a new one (losing `exitCode`).
 */
function gitError(what: string, stderr: string, exitCode: number, cause?: unknown): GitError {
  const err = new GitError(undefined, `${what}: ${stderr.trim() || `exit code ${exitCode}`}`);
  return Object.assign(err, { exitCode, cause });
}

/**
 * A simple-git client for one repository (or working directory) with the scrubbed environment.
 * A command that fails (see `strict`) rejects with an Error whose message is `what` and git's
 * stderr, with `exitCode` set. `what` names the operation in messages.
 */
export function gitClient(options: RunGitOptions = {}, what = 'git'): SimpleGit {
  if (options.input === '') throw new TypeError('gitClient: empty input would leave git waiting on its stdin');
  // A relative gitdir is relative to `cwd` (or the process's), as `git --git-dir` would take it.
  const gitdir = options.gitdir === undefined ? undefined : resolve(options.cwd ?? process.cwd(), options.gitdir);
  const env = Object.fromEntries(Object.entries(gitEnv({ ...options.env, ...(gitdir ? { GIT_DIR: gitdir } : {}) })).filter((e): e is [string, string] => e[1] !== undefined));
  const input = options.input;
  // Output past HOST_DEFAULTS.gitMaxBuffer stops git (simple-git reads output whole, unbounded).
  const tooMuch = new AbortController();
  // `allowConfig` is simple-git 4.1's (npm install resolves ^4.0.2 to it); typed here for 4.0's types.
  const settings: Partial<SimpleGitOptions> & { allowConfig?: string[] } = {
    abort: options.signal ? AbortSignal.any([tooMuch.signal, options.signal]) : tooMuch.signal,
    baseDir: options.cwd ?? gitdir ?? process.cwd(),
    allowEnvironment: Object.keys(env),
    unsafe: envGuards(env, options.unsafe),
    ...(input !== undefined ? { input: () => input } : {}),
    errors: (error, result) => {
      const failed = result.exitCode !== 0 && (options.strict === true || result.stdErr.length > 0);
      return failed ? gitError(what, Buffer.concat(result.stdErr).toString('utf8'), result.exitCode, error) : error;
    },
    ...(options.allowConfig ? { allowConfig: [...options.allowConfig] } : {}),
  };
  return simpleGit(settings)
    .env(env)
    .outputHandler((_command, stdout) => {
      let bytes = 0;
      stdout.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > HOST_DEFAULTS.gitMaxBuffer) tooMuch.abort();
      });
    });
}

/**
 * Run `git ...args`. Resolves with its output when it exits 0; rejects with an Error whose
 * message is the command and git's stderr otherwise (callers wrap it in their own error code),
 * with `exitCode` set. A leading `--git-dir DIR` (which simple-git refuses) is taken as
 * `options.gitdir`.
 */
export async function runGit(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
  if (args[0] === '--git-dir' && args[1] !== undefined) return runGit(args.slice(2), { ...options, gitdir: args[1] });
  const what = `git ${args.join(' ')}`;
  try {
    return { stdout: await gitClient({ ...options, strict: true }, what).raw(args) };
  } catch (err) {
    if (options.signal?.aborted) throw gitError(what, `stopped: ${String((options.signal.reason as Error | undefined)?.message ?? options.signal.reason)}`, 1, err);
    if ((err as { plugin?: string }).plugin === 'abort') throw gitError(what, `output larger than ${HOST_DEFAULTS.gitMaxBuffer} bytes: stopped`, 1, err);
    throw err;
  }
}

/**
 * Move `ref` of the repository `gitdir` to `next` if it still points at `old`: `git update-ref
 * -m MESSAGE REF NEXT OLD`, git's lock and compare-and-swap, with runGit's environment. Run
 * directly rather than through simple-git, which waits 50 ms after any command that prints
 * nothing (its completion plugin): this is the last step of every commit the server makes (an
 * element change, a fold, a rollback, a published live change), on the path from a change to
 * the agents applying it. Rejects like runGit (the command and git's stderr, `exitCode` set).
 */
export function updateRef(gitdir: string, ref: string, next: string, old: string, message: string): Promise<void> {
  const args = ['update-ref', '-m', message, ref, next, old];
  return new Promise((done, fail) => {
    execFile('git', args, { env: gitEnv({ GIT_DIR: resolve(gitdir) }), maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err === null) return done();
      const code = typeof err.code === 'number' ? err.code : 1;
      fail(gitError(`git ${args.join(' ')}`, String(stderr || err.message), code, err));
    });
  });
}
