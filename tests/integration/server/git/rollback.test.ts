/**
 * rollbackBranch on a real bare repository: a new commit with the old rulesets, history kept, and
 * the compare-and-swap under races with pushes (nothing lost: a lost race is retried or reported).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NftSyncError } from '../../../../shared/errors.js';
import { rollbackBranch } from '../../../../server/git/rollback.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (p: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${p}`);

/** A second clone of the bare repository that pushes on its own, as another engineer would. */
function otherClone(f: ServerFixture, name: string): (files: Record<string, string>, msg: string) => string {
  const dir = join(f.dir, name);
  const git = (args: string[]) => execFileSync('git', args, { cwd: dir, env: testGitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  execFileSync('git', ['clone', '-q', f.bare, dir], { env: testGitEnv() });
  return (files, msg) => {
    git(['pull', '-q', '--rebase', 'origin', 'main']);
    for (const [p, c] of Object.entries(files)) execFileSync('tee', [join(dir, p)], { input: c, stdio: ['pipe', 'ignore', 'inherit'] });
    git(['commit', '-qam', msg]);
    git(['push', '-q', 'origin', 'HEAD:main']);
    return git(['rev-parse', 'HEAD']);
  };
}

/** Like otherClone, but git runs asynchronously, so pushes from two clones really overlap. */
function asyncClone(f: ServerFixture, name: string): (files: Record<string, string>, msg: string) => Promise<string> {
  const dir = join(f.dir, name);
  const run = promisify(execFile);
  const git = async (args: string[]) => (await run('git', args, { cwd: dir, env: testGitEnv() })).stdout.trim();
  execFileSync('git', ['clone', '-q', f.bare, dir], { env: testGitEnv() });
  return async (files, msg) => {
    for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
    await git(['add', '-A']);
    await git(['commit', '-qm', msg]);
    // A push that loses the race is refused (non-fast-forward); rebase on what won and push again.
    for (let tries = 0; ; tries++) {
      try {
        await git(['push', '-q', 'origin', 'HEAD:main']);
        return await git(['rev-parse', 'HEAD']);
      } catch (err) {
        if (tries >= 20) throw err;
        await git(['pull', '-q', '--rebase', 'origin', 'main']);
      }
    }
  };
}

const ancestors = (f: ServerFixture) => new Set(f.git(['rev-list', 'main'], f.bare).split('\n'));

describe('rollbackBranch', () => {
  test('a push landing between building and moving the ref: rebuilt on the new head, the push kept', async (t) => {
    const f = await startServerFixture(t);
    const good = f.git(['rev-parse', 'HEAD']);
    f.push({ 'rulesets/default.json': withPort(2222) }, 'bad');
    const push = otherClone(f, 'other');
    let pushed = '';
    const r = await rollbackBranch({
      gitdir: f.bare, branch: 'main', target: good, targetName: 'good', owner: 'alice',
      beforeUpdate: (attempt) => {
        if (attempt === 1) pushed = push({ 'README.md': 'racing push\n' }, 'racing push');
      },
    });
    assert.equal(r.attempts, 2, 'the first compare-and-swap lost and was retried');
    assert.equal(r.previous, pushed);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), r.commit);
    assert.ok(ancestors(f).has(pushed), 'the racing push is in the history');
    assert.equal(f.git(['show', `${r.commit}:README.md`], f.bare), 'racing push', 'files outside rulesets/ are the branch\'s');
    assert.equal(f.git(['rev-parse', `${r.commit}:rulesets`], f.bare), f.git(['rev-parse', `${good}:rulesets`], f.bare));
  });

  test('the branch moving on every attempt: ROLLBACK_CONFLICT (retryable), every push kept, no rollback commit', async (t) => {
    const f = await startServerFixture(t);
    const good = f.git(['rev-parse', 'HEAD']);
    f.push({ 'rulesets/default.json': withPort(2222) }, 'bad');
    const push = otherClone(f, 'other');
    const pushed: string[] = [];
    await assert.rejects(
      rollbackBranch({ gitdir: f.bare, branch: 'main', target: good, targetName: 'good', owner: 'alice', maxAttempts: 3, beforeUpdate: (n) => void pushed.push(push({ 'README.md': `push ${n}\n` }, `push ${n}`)) }),
      (err: NftSyncError) => err.code === 'NFTSYNC_ERR_ROLLBACK_CONFLICT' && err.retryable,
    );
    assert.equal(pushed.length, 3);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), pushed[2]);
    for (const c of pushed) assert.ok(ancestors(f).has(c));
  });

  test('two clones pushing at once and rollbacks in parallel: every push and every successful rollback is in the history', async (t) => {
    const f = await startServerFixture(t);
    const good = f.git(['rev-parse', 'HEAD']);
    const bad = f.push({ 'rulesets/default.json': withPort(2222) }, 'bad');
    const pushA = asyncClone(f, 'a');
    const pushB = asyncClone(f, 'b');
    const pushes: string[] = [];
    const pusher = async (push: typeof pushA, tag: string) => {
      // Each clone writes its own file, so rebasing on the other's push never conflicts.
      for (let i = 0; i < 4; i++) pushes.push(await push({ [`notes-${tag}.txt`]: `${tag} ${i}\n` }, `${tag} ${i}`));
    };
    const rollbacks = Array.from({ length: 6 }, (_, i) =>
      rollbackBranch({ gitdir: f.bare, branch: 'main', target: i % 2 ? bad : good, targetName: `r${i}`, owner: 'alice', maxAttempts: 20 }).catch((err: NftSyncError) => err));
    const [results] = await Promise.all([Promise.all(rollbacks), pusher(pushA, 'A'), pusher(pushB, 'B')]);
    const history = ancestors(f);
    t.diagnostic(`rollbacks: ${results.map((r) => (r instanceof NftSyncError ? r.code.slice('NFTSYNC_ERR_'.length) : `ok after ${r.attempts}`)).join(', ')}`);
    assert.equal(pushes.length, 8);
    for (const c of pushes) assert.ok(history.has(c), `push ${c} kept`);
    for (const r of results) {
      if (r instanceof NftSyncError) assert.ok(['NFTSYNC_ERR_ROLLBACK_NOOP', 'NFTSYNC_ERR_ROLLBACK_CONFLICT'].includes(r.code), r.message);
      else assert.ok(history.has(r.commit), `rollback ${r.commit} kept`);
    }
  });

  test('rolling back to what the branch already has is refused with ROLLBACK_NOOP; no commit is made', async (t) => {
    const f = await startServerFixture(t);
    const head = f.git(['rev-parse', 'HEAD']);
    await assert.rejects(rollbackBranch({ gitdir: f.bare, branch: 'main', target: head, targetName: 'main', owner: 'x' }), { code: 'NFTSYNC_ERR_ROLLBACK_NOOP' });
    assert.equal(f.git(['rev-parse', 'main'], f.bare), head);
  });

  test('a target without rulesets/ is refused with RULESET_NOT_FOUND', async (t) => {
    const f = await startServerFixture(t);
    const empty = f.git(['commit-tree', f.git(['hash-object', '-t', 'tree', '-w', '--stdin'], f.bare), '-m', 'empty'], f.bare);
    const head = f.git(['rev-parse', 'main'], f.bare);
    await assert.rejects(rollbackBranch({ gitdir: f.bare, branch: 'main', target: empty, targetName: 'empty', owner: 'x' }), { code: 'NFTSYNC_ERR_RULESET_NOT_FOUND' });
    assert.equal(f.git(['rev-parse', 'main'], f.bare), head);
  });
});
