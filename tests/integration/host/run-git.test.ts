/**
 * git through simple-git (host/run-git.ts) with the scrubbed environment, on real repositories:
 * variables that would redirect git elsewhere are dropped, the operator's other variables
 * (simple-git would drop or refuse them) and the caller's reach git, every failure of runGit is
 * an error with git's exit code, and stdin reaches git.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gitClient, runGit, updateRef } from '../../../host/run-git.js';
import { git, tempDir } from '../../helpers/git-fixture.js';

/** Set process.env[name] for the test, restored after it. */
function setEnv(t: TestContext, name: string, value: string): void {
  const before = process.env[name];
  process.env[name] = value;
  t.after(() => (before === undefined ? delete process.env[name] : (process.env[name] = before)));
}

function repo(t: TestContext, name: string): string {
  const dir = join(tempDir(t), name);
  git(tempDir(t), ['init', '-q', '--bare', '-b', 'main', dir]);
  return dir;
}

test('GIT_DIR and GIT_OBJECT_DIRECTORY from the environment never redirect git; gitdir decides', async (t) => {
  const ours = repo(t, 'ours.git');
  const other = repo(t, 'other.git');
  setEnv(t, 'GIT_DIR', other);
  setEnv(t, 'GIT_OBJECT_DIRECTORY', join(other, 'objects'));
  const blob = (await runGit(['hash-object', '-w', '--stdin'], { gitdir: ours, input: 'hello\n' })).stdout.trim();
  assert.equal(git(ours, ['cat-file', '-p', blob]), 'hello');
  assert.throws(() => git(other, ['cat-file', '-e', blob]), 'nothing written to the other repository');
  // A leading --git-dir (simple-git refuses the option) means the same as `gitdir`.
  assert.equal((await runGit(['--git-dir', ours, 'cat-file', '-p', blob])).stdout, 'hello\n');
  // A relative gitdir is relative to cwd, as git's --git-dir takes it.
  assert.equal((await runGit(['cat-file', '-p', blob], { gitdir: 'ours.git', cwd: join(ours, '..') })).stdout, 'hello\n');
  const here = process.cwd();
  process.chdir(join(ours, '..'));
  t.after(() => process.chdir(here));
  assert.equal((await runGit(['cat-file', '-p', blob], { gitdir: 'ours.git' })).stdout, 'hello\n');
});

test('the operator\'s GIT_CONFIG_GLOBAL and the caller\'s identity reach git (simple-git would refuse them)', async (t) => {
  const dir = repo(t, 'r.git');
  const home = tempDir(t);
  git(home, ['config', '--file', join(home, 'gitconfig'), 'nftsync.probe', 'from-global']);
  setEnv(t, 'GIT_CONFIG_GLOBAL', join(home, 'gitconfig'));
  assert.equal((await gitClient({ gitdir: dir }).getConfig('nftsync.probe')).value, 'from-global');
  const tree = (await runGit(['mktree'], { gitdir: dir, input: '\n' }).catch(() => ({ stdout: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' }))).stdout.trim();
  const commit = (await runGit(['commit-tree', tree, '-m', 'x'], { gitdir: dir, env: { GIT_AUTHOR_NAME: 'Rollback Bot', GIT_AUTHOR_EMAIL: 'bot@example.invalid', GIT_COMMITTER_NAME: 'c', GIT_COMMITTER_EMAIL: 'c@example.invalid' } })).stdout.trim();
  assert.match(git(dir, ['cat-file', '-p', commit]), /^author Rollback Bot <bot@example\.invalid>/m);
});

test('a failing command rejects with the command, git\'s message and its exit code, even when git says nothing', async (t) => {
  const dir = repo(t, 'r.git');
  await assert.rejects(runGit(['rev-parse', '--verify', 'nope'], { gitdir: dir }), (e: Error & { exitCode?: number }) => /^git rev-parse --verify nope: fatal: /.test(e.message) && e.exitCode === 128);
  await assert.rejects(runGit(['rev-parse', '--verify', '-q', 'nope'], { gitdir: dir }), (e: Error & { exitCode?: number }) => e.exitCode === 1);
  assert.equal((await gitClient({ gitdir: dir }).getConfig('nftsync.unset')).value, null, 'typed calls keep simple-git\'s reading of a silent exit 1');
  assert.throws(() => gitClient({ gitdir: dir, input: '' }), /empty input/);
});

test('a signal stops git: the process is ended and the run rejects with "stopped" and the reason', async (t) => {
  const dir = repo(t, 'r.git');
  // `git cat-file --batch` waits on its stdin, which nothing closes: a git run that never ends.
  const t0 = performance.now();
  const stopping = new AbortController();
  setTimeout(() => stopping.abort(new Error('time is up')), 300);
  await assert.rejects(runGit(['--git-dir', dir, 'cat-file', '--batch'], { signal: stopping.signal }), /stopped: time is up/);
  assert.ok(performance.now() - t0 < 5000);
});

test('updateRef moves a branch only from the commit it names (compare-and-swap), ignores GIT_DIR from the environment, and fails with git\'s exit code', async (t) => {
  const ours = repo(t, 'cas.git');
  const other = repo(t, 'cas-other.git');
  setEnv(t, 'GIT_DIR', other);
  const tree = git(ours, ['mktree'], '');
  const a = git(ours, ['commit-tree', tree, '-m', 'a']);
  const b = git(ours, ['commit-tree', tree, '-p', a, '-m', 'b']);
  git(ours, ['update-ref', 'refs/heads/main', a]);
  await updateRef(ours, 'refs/heads/main', b, a, 'move to b');
  assert.equal(git(ours, ['rev-parse', 'main']), b);
  const err = await updateRef(ours, 'refs/heads/main', a, a, 'stale').then(() => undefined, (e: unknown) => e as Error & { exitCode?: number });
  assert.ok(err, 'refused: the branch is not at a any more');
  assert.equal(err.exitCode, 128, 'git\'s own exit code');
  assert.match(err.message, /git update-ref -m stale refs\/heads\/main[^]*cannot lock ref/);
  assert.equal(git(ours, ['rev-parse', 'main']), b);
  assert.throws(() => git(other, ['rev-parse', '--verify', '-q', 'refs/heads/main']));
});
