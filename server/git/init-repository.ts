/**
 * `nft-sync init DIR`: a new bare rulesets repository with one commit on `main` holding the
 * template's files.
 *
 * The repository is built in a hidden sibling directory and renamed into place at the end, so
 * DIR is either absent/empty or a complete repository, never half made. Objects are written with
 * the git CLI's plumbing (hash-object, update-index on a throwaway index, write-tree,
 * commit-tree, update-ref): no work tree, no checkout, and nothing from the user's git config
 * (filters, excludes, hooks) can change what goes into the commit.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import { gitClient } from '../../host/run-git.js';

/** Identity of the initial commit when git has none configured (a clean CI machine). */
export const FALLBACK_IDENTITY = { name: 'nft-sync', email: 'nft-sync@localhost' } as const;
/** The branch `init` creates and HEAD points to. */
export const INITIAL_BRANCH = 'main';

/**
 * Server-side settings. History is never rewritten (rollback is a new commit), so non-fast-
 * forward pushes are refused; pushed objects are checked for corruption; reflogs record every
 * ref update even in this bare repository, as an audit trail of who moved what when.
 */
export const REPOSITORY_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['receive.denyNonFastForwards', 'true'],
  ['receive.fsckObjects', 'true'],
  ['core.logAllRefUpdates', 'true'],
];

export interface InitRepositoryOptions {
  /**
   * Hook scripts to install, by hook name (`pre-receive`: the push validator). Written
   * executable into `hooks/`. This is the one place hooks enter a new repository.
   */
  hooks?: Readonly<Record<string, string>>;
  /** Message of the initial commit. */
  message?: string;
}

/**
 * Create a bare git repository at `dir` whose branch `main` (HEAD) has exactly one commit with
 * every regular file under `templateDir` (recursively, `.git` skipped, executable bits kept).
 * The author is the configured git identity, else FALLBACK_IDENTITY. Returns the commit id.
 *
 * Errors (NftSyncError):
 * - NFTSYNC_ERR_REPO_EXISTS: `dir` exists and is not an empty directory.
 * - NFTSYNC_ERR_REPO_TEMPLATE_INVALID: `templateDir` is missing, empty, or holds a symlink or
 *   special file; or a hook name is not a plain name.
 * - NFTSYNC_ERR_REPO_GIT_FAILED: git failed (message carries git's stderr); nothing is left behind.
 */
export async function initRepository(dir: string, templateDir: string, options: InitRepositoryOptions = {}): Promise<{ commit: string }> {
  const target = resolve(dir);
  await assertTargetFree(target);
  const files = await listTemplateFiles(resolve(templateDir));
  for (const name of Object.keys(options.hooks ?? {})) {
    if (!/^[a-z][a-z-]*$/.test(name)) throw new NftSyncError('NFTSYNC_ERR_REPO_TEMPLATE_INVALID', `hook name ${JSON.stringify(name)} is not a git hook name`);
  }
  await mkdir(dirname(target), { recursive: true });
  const building = join(dirname(target), `.${basename(target)}.init-${randomBytes(4).toString('hex')}`);
  const scratch = await mkdtemp(join(tmpdir(), 'nft-sync-init-'));
  try {
    const commit = await git(async () => {
      // --template= (no template: no sample hooks) is one of simple-git's guarded options.
      await gitClient({ cwd: dirname(building), unsafe: { allowUnsafeTemplateDir: true } }, 'git init').init(true, ['--quiet', '--template=', `--initial-branch=${INITIAL_BRANCH}`, building]);
      const repo = gitClient({ gitdir: building, allowConfig: REPOSITORY_CONFIG.map(([key]) => key) }, 'git config');
      for (const [key, value] of REPOSITORY_CONFIG) await repo.addConfig(key, value);
      await installHooks(building, options.hooks ?? {});
      return commitFiles(building, files, join(scratch, 'index'), options.message ?? 'Initial nft-sync repository from the template');
    });
    try {
      await rename(building, target); // replaces an empty directory; fails on a non-empty one
    } catch (cause) {
      throw new NftSyncError('NFTSYNC_ERR_REPO_EXISTS', `${target} appeared while the repository was being created: remove it or pick another directory`, { data: { dir: target }, cause });
    }
    return { commit };
  } finally {
    await rm(building, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

async function git<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (cause instanceof NftSyncError) throw cause;
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `could not create the repository: ${(cause as Error).message}`, { cause });
  }
}

async function assertTargetFree(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new NftSyncError('NFTSYNC_ERR_REPO_EXISTS', `${target} exists and is not an empty directory: remove it or pick another directory`, { data: { dir: target }, cause: err });
  }
  if (entries.length > 0) {
    throw new NftSyncError('NFTSYNC_ERR_REPO_EXISTS', `${target} exists and is not empty: remove it or pick another directory`, { data: { dir: target } });
  }
}

interface TemplateFile {
  /** Absolute path on disk. */
  abs: string;
  /** Path in the repository, `/`-separated. */
  path: string;
  mode: '100644' | '100755';
}

/** Every regular file under `root`, sorted by repository path. Refuses links and special files. */
async function listTemplateFiles(root: string): Promise<TemplateFile[]> {
  const bad = (why: string, cause?: unknown): never => {
    throw new NftSyncError('NFTSYNC_ERR_REPO_TEMPLATE_INVALID', `repository template ${root} ${why}`, { data: { templateDir: root }, cause });
  };
  const out: TemplateFile[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (cause) {
      return bad(`cannot be read: ${(cause as Error).message}`, cause);
    }
    for (const e of entries) {
      const abs = join(d, e.name);
      if (e.name === '.git') continue;
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) {
        const st = await lstat(abs);
        out.push({ abs, path: relative(root, abs).split(sep).join('/'), mode: st.mode & 0o111 ? '100755' : '100644' });
      } else bad(`holds ${relative(root, abs)}, which is not a regular file or directory`);
    }
  };
  await walk(root);
  if (out.length === 0) bad('has no files');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function installHooks(gitdir: string, hooks: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(join(gitdir, 'hooks'), { recursive: true });
  for (const [name, script] of Object.entries(hooks)) {
    const file = join(gitdir, 'hooks', name);
    await writeFile(file, script);
    await chmod(file, 0o755);
  }
}

/** Write `files` as one root commit on refs/heads/main of the bare repository `gitdir`. */
async function commitFiles(gitdir: string, files: TemplateFile[], indexFile: string, message: string): Promise<string> {
  const git = gitClient({ gitdir, env: { GIT_INDEX_FILE: indexFile, ...(await identityEnv(gitdir)) } }, 'git (init commit)');
  // --no-filters: the template's bytes go in as they are, whatever attributes say.
  const oids = (await git.raw(['hash-object', '-w', '--no-filters', '--', ...files.map((f) => f.abs)])).trim().split('\n');
  await git.raw(['update-index', '--add', ...files.flatMap((f, i) => ['--cacheinfo', `${f.mode},${oids[i]},${f.path}`])]);
  const tree = (await git.raw(['write-tree'])).trim();
  const commit = (await git.raw(['commit-tree', tree, '-m', message])).trim();
  // Empty old value: create only, never overwrite.
  await git.raw(['update-ref', '-m', 'nft-sync init', `refs/heads/${INITIAL_BRANCH}`, commit, '']);
  await git.raw(['symbolic-ref', 'HEAD', `refs/heads/${INITIAL_BRANCH}`]);
  return commit;
}

/** Environment for commit-tree: nothing when git knows who commits, else FALLBACK_IDENTITY. */
async function identityEnv(gitdir: string): Promise<Record<string, string>> {
  const config = gitClient({ gitdir }, 'git config');
  const get = async (key: string): Promise<string | undefined> => (await config.getConfig(key)).value?.trim() || undefined;
  const name = process.env.GIT_AUTHOR_NAME ?? (await get('user.name'));
  const email = process.env.GIT_AUTHOR_EMAIL ?? (await get('user.email'));
  if (name !== undefined && email !== undefined) return {};
  const { name: n, email: e } = FALLBACK_IDENTITY;
  return { GIT_AUTHOR_NAME: n, GIT_AUTHOR_EMAIL: e, GIT_COMMITTER_NAME: n, GIT_COMMITTER_EMAIL: e };
}
