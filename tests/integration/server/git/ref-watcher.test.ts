import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { initRepository } from '../../../../server/git/init-repository.js';
import { RefWatcher } from '../../../../server/git/ref-watcher.js';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

const run = promisify(execFile);

/** Async git, so the event loop (and the watcher) runs while git works. */
async function gitAsync(cwd: string, args: string[]): Promise<void> {
  await run('git', args, { cwd, env: testGitEnv() });
}

interface Moved {
  ref: string;
  commit: string | undefined;
  at: number;
}

async function setup(t: TestContext, options: { pollMs?: number; fsEvents?: boolean } = {}) {
  const root = tempDir(t);
  const template = join(root, 'template');
  mkdirSync(join(template, 'rulesets'), { recursive: true });
  writeFileSync(join(template, 'rulesets', 'default.json'), '{"nftables":[]}\n');
  const bare = join(root, 'rules.git');
  const { commit } = await initRepository(bare, template);
  const work = join(root, 'work');
  git(root, ['clone', '-q', bare, work]);
  const repo = await RulesetRepository.open(bare);
  const watcher = new RefWatcher({ gitdir: repo.gitdir, listRefs: () => repo.listRefs(), ...options });
  const events: Moved[] = [];
  watcher.on('moved', (ref, c) => events.push({ ref, commit: c, at: performance.now() }));
  watcher.on('error', (err) => assert.fail(err));
  await watcher.start();
  t.after(() => watcher.stop());
  let n = 0;
  const commitAndPush = async (branch = 'main'): Promise<{ commit: string; pushStart: number; pushEnd: number }> => {
    writeFileSync(join(work, 'rulesets', 'default.json'), `{"nftables":[],"n":${++n}}\n`);
    git(work, ['commit', '-qam', `change ${n}`]);
    const c = git(work, ['rev-parse', 'HEAD']);
    const pushStart = performance.now();
    await gitAsync(work, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
    return { commit: c, pushStart, pushEnd: performance.now() };
  };
  return { root, bare, work, repo, watcher, events, initial: commit, commitAndPush };
}

/** The first 'moved' of `ref` in `events`, once there is one (fails after `ms`). */
function movedOf(events: Moved[], ref: string, ms = 5000): Promise<Moved> {
  return waitFor(() => events.find((e) => e.ref === ref), { timeoutMs: ms, intervalMs: 1, what: `'moved' for ${ref} (got ${events.map((e) => e.ref).join(', ') || 'none'})` });
}

/**
 * Move `refs/heads/sentinel` and wait for its event: the scan that reports it lists every ref
 * again, so whatever an earlier change would have made the watcher report has been reported by
 * then. How a test shows that something was NOT reported without sleeping a guessed time.
 */
async function afterSentinel(s: { bare: string; initial: string; events: Moved[] }): Promise<void> {
  await gitAsync(s.bare, ['update-ref', 'refs/heads/sentinel', s.initial]);
  await movedOf(s.events, 'refs/heads/sentinel');
}

/**
 * A watcher (no file events, no poll) over a fresh repository whose scan has read the refs (main
 * at `initial`) and waits for `answer()` before it goes on: a move made meanwhile happens while
 * that scan is in flight. Its `moved` events are in `events`.
 */
async function heldScan(t: TestContext) {
  const root = tempDir(t);
  const template = join(root, 'template');
  mkdirSync(join(template, 'rulesets'), { recursive: true });
  writeFileSync(join(template, 'rulesets', 'default.json'), '{"nftables":[]}\n');
  const bare = join(root, 'rules.git');
  const { commit: initial } = await initRepository(bare, template);
  const repo = await RulesetRepository.open(bare);
  let hold: { read: () => void; answer: Promise<void> } | undefined;
  const listRefs = async (): Promise<Map<string, string>> => {
    const refs = await repo.listRefs();
    if (hold !== undefined) {
      const h = hold;
      hold = undefined;
      h.read();
      await h.answer;
    }
    return refs;
  };
  const watcher = new RefWatcher({ gitdir: repo.gitdir, listRefs, fsEvents: false, pollMs: 0 });
  const events: Array<[string, string | undefined]> = [];
  watcher.on('moved', (ref, c) => events.push([ref, c]));
  await watcher.start();
  t.after(() => watcher.stop());
  let answer!: () => void;
  const read = new Promise<void>((resolve) => (hold = { read: resolve, answer: new Promise<void>((r) => (answer = r)) }));
  watcher.refsWritten(); // a scan starts and reads main at `initial`
  await read;
  return { root, bare, initial, watcher, events, answer };
}

describe('RefWatcher', () => {
  it('reports a git push by its file events (the poll off); prints push-to-event latency', async (t) => {
    // Without the poll only the file events can report the push: each push is awaited (5 s cap)
    // and its latency reported, not bounded (a timed bound flaked under load; speed is for bench/).
    const s = await setup(t, { pollMs: 0 });
    assert.equal(s.watcher.current('refs/heads/main'), s.initial);
    const afterEnd: number[] = [];
    const afterStart: number[] = [];
    for (let i = 0; i < 10; i++) {
      s.events.length = 0;
      const p = await s.commitAndPush();
      const e = await movedOf(s.events, 'refs/heads/main');
      assert.equal(e.commit, p.commit);
      assert.equal(s.watcher.current('refs/heads/main'), p.commit);
      afterStart.push(e.at - p.pushStart);
      afterEnd.push(e.at - p.pushEnd);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    t.diagnostic(`push-to-event: median ${median(afterStart).toFixed(1)} ms after git push started, ${median(afterEnd).toFixed(1)} ms relative to git push exiting (negative: before it exited); max ${Math.max(...afterStart).toFixed(1)} ms after the start, ${Math.max(...afterEnd).toFixed(1)} ms after the exit`);
  });

  it('does not report git gc (refs packed, same values), and reads still work after it', async (t) => {
    const s = await setup(t);
    git(s.work, ['tag', '-a', '-m', 'annotated', 'v1']);
    git(s.work, ['push', '-q', 'origin', 'v1']);
    await movedOf(s.events, 'refs/tags/v1');
    s.events.length = 0;
    await gitAsync(s.bare, ['gc', '--quiet', '--prune=now']);
    await afterSentinel(s); // a scan after the gc, by the file events or by the poll
    assert.deepEqual(s.events.map((e) => e.ref), ['refs/heads/sentinel']);
    const p = await s.commitAndPush();
    assert.equal((await movedOf(s.events, 'refs/heads/main')).commit, p.commit);
    assert.equal((await s.repo.readRuleset(p.commit, 'default')).bytes.toString(), '{"nftables":[],"n":1}\n');
  });

  it('reports new tags, new branches in subdirectories, local update-ref and deleted branches', async (t) => {
    const s = await setup(t);
    git(s.work, ['tag', 'v1.0']);
    await gitAsync(s.work, ['push', '-q', 'origin', 'v1.0']);
    assert.equal((await movedOf(s.events, 'refs/tags/v1.0')).commit, s.initial);
    assert.equal(s.watcher.fullRefName('v1.0'), 'refs/tags/v1.0');
    assert.equal(s.watcher.fullRefName('main'), 'refs/heads/main');
    assert.equal(s.watcher.fullRefName('nope'), undefined);

    const f = await s.commitAndPush('team/feature');
    assert.equal((await movedOf(s.events, 'refs/heads/team/feature')).commit, f.commit);
    s.events.length = 0;
    const f2 = await s.commitAndPush('team/feature'); // a file in the new directory moves
    assert.equal((await movedOf(s.events, 'refs/heads/team/feature')).commit, f2.commit);

    s.events.length = 0;
    await gitAsync(s.bare, ['update-ref', 'refs/heads/local', s.initial]);
    assert.equal((await movedOf(s.events, 'refs/heads/local')).commit, s.initial);

    s.events.length = 0;
    await gitAsync(s.work, ['push', '-q', 'origin', ':refs/heads/team/feature']);
    assert.equal((await movedOf(s.events, 'refs/heads/team/feature')).commit, undefined);
    assert.equal(s.watcher.current('refs/heads/team/feature'), undefined);

    // A tag and a branch of the same name: the tag is what git (and resolveRef) picks.
    await gitAsync(s.bare, ['update-ref', 'refs/heads/v1.0', f2.commit]);
    await movedOf(s.events, 'refs/heads/v1.0');
    assert.equal(s.watcher.fullRefName('v1.0'), 'refs/tags/v1.0');
    assert.equal(await s.repo.resolveRef('v1.0'), s.watcher.current('refs/tags/v1.0'));
  });

  it('takes a burst of ref updates as one scan, each ref reported once', async (t) => {
    const s = await setup(t);
    const names = Array.from({ length: 20 }, (_, i) => `refs/heads/b${i}`);
    const input = names.map((n) => `create ${n} ${s.initial}\n`).join('');
    await new Promise<void>((resolve, reject) => {
      const child = execFile('git', ['update-ref', '--stdin'], { cwd: s.bare, env: testGitEnv() }, (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(input);
    });
    await movedOf(s.events, 'refs/heads/b19');
    await afterSentinel(s); // a later scan reports none of them again
    assert.deepEqual(s.events.map((e) => e.ref).sort(), [...names, 'refs/heads/sentinel'].sort());
  });

  it('falls back to polling without file system events', async (t) => {
    // Nothing but the 100 ms poll can report it; 5 s is only the cap of a wait that would hang.
    const s = await setup(t, { fsEvents: false, pollMs: 100 });
    const p = await s.commitAndPush();
    const e = await movedOf(s.events, 'refs/heads/main', 5000);
    t.diagnostic(`reported ${(e.at - p.pushEnd).toFixed(1)} ms after git push exited (poll every 100 ms)`);
    assert.equal(e.commit, p.commit);
  });

  it('refsWritten (a writer in this process moved a ref): the scan starts at once, without a file event or a poll', async (t) => {
    // Neither file events nor a poll: only refsWritten can make this watcher look.
    const s = await setup(t, { fsEvents: false, pollMs: 0 });
    const p = await s.commitAndPush();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.events.length, 0, 'nothing looks at the refs by itself');
    s.watcher.refsWritten();
    const fresh = await s.watcher.fresh();
    assert.equal(fresh.refs.get('refs/heads/main'), p.commit, 'fresh() waits for the scan refsWritten started');
    assert.deepEqual(s.events.map((e) => [e.ref, e.commit]), [['refs/heads/main', p.commit]]);
    s.watcher.stop();
    s.watcher.refsWritten(); // stopped: nothing
  });

  it('refsWritten with the move: taken and emitted at once when the copy held its old value, before any ref file is read; not taken over another value', async (t) => {
    const s = await setup(t, { fsEvents: false, pollMs: 0 });
    const p = await s.commitAndPush();
    s.watcher.refsWritten({ ref: 'refs/heads/main', commit: p.commit, old: s.initial });
    assert.deepEqual(s.events.map((e) => [e.ref, e.commit]), [['refs/heads/main', p.commit]], 'emitted at once, not after a scan');
    assert.equal(s.watcher.current('refs/heads/main'), p.commit);
    await s.watcher.fresh();
    assert.equal(s.events.length, 1, 'the scan that followed found nothing new');
    // The copy holds p now: a move said to be from another commit is left to the scan.
    const q = await s.commitAndPush();
    s.watcher.refsWritten({ ref: 'refs/heads/main', commit: 'f'.repeat(40), old: s.initial });
    assert.equal(s.events.length, 1, 'not taken: the copy did not hold its old value');
    await s.watcher.fresh();
    assert.deepEqual(s.events.slice(1).map((e) => [e.ref, e.commit]), [['refs/heads/main', q.commit]], 'what the scan read');
  });

  it('a scan that began before a move taken from refsWritten, and read the old value, does not take the copy back', async (t) => {
    const { root, bare, initial, watcher, events, answer } = await heldScan(t);
    // Meanwhile a writer moves main (the element API's compare-and-swap) and says so.
    const work = join(root, 'work');
    git(root, ['clone', '-q', bare, work]);
    writeFileSync(join(work, 'rulesets', 'default.json'), '{"nftables":[],"n":1}\n');
    git(work, ['commit', '-qam', 'moved']);
    git(work, ['push', '-q', 'origin', 'HEAD:main']);
    const moved = git(work, ['rev-parse', 'HEAD']);
    watcher.refsWritten({ ref: 'refs/heads/main', commit: moved, old: initial });
    answer();
    await watcher.fresh();
    await new Promise((r) => setTimeout(r, 50));
    await watcher.fresh();
    assert.deepEqual(events, [['refs/heads/main', moved]], 'no move back to the old value, nor the new one twice');
    assert.equal(watcher.current('refs/heads/main'), moved);
  });

  it('two moves taken from refsWritten while one scan read the refs (two element API changes in a row): the scan\'s value from before both does not take the copy back to it', async (t) => {
    const { root, bare, initial, watcher, events, answer } = await heldScan(t);
    const work = join(root, 'work');
    git(root, ['clone', '-q', bare, work]);
    const moves: string[] = [];
    for (const n of [1, 2]) {
      const old = moves.at(-1) ?? initial;
      writeFileSync(join(work, 'rulesets', 'default.json'), `{"nftables":[],"n":${n}}\n`);
      git(work, ['commit', '-qam', `moved ${n}`]);
      git(work, ['push', '-q', 'origin', 'HEAD:main']);
      moves.push(git(work, ['rev-parse', 'HEAD']));
      watcher.refsWritten({ ref: 'refs/heads/main', commit: moves.at(-1)!, old });
    }
    answer();
    await watcher.fresh();
    await new Promise((r) => setTimeout(r, 50));
    await watcher.fresh();
    assert.deepEqual(events, moves.map((m) => ['refs/heads/main', m]), 'each move once, never back to the value from before both');
    assert.equal(watcher.current('refs/heads/main'), moves[1]);
  });

  it('stop() leaves nothing running', async (t) => {
    const s = await setup(t);
    // A second watcher on the same repository, left running: once it has reported the push,
    // the stopped one would have too (same file events, same poll period).
    const live = new RefWatcher({ gitdir: s.repo.gitdir, listRefs: () => s.repo.listRefs() });
    const seen: Moved[] = [];
    live.on('moved', (ref, c) => seen.push({ ref, commit: c, at: performance.now() }));
    await live.start();
    t.after(() => live.stop());
    s.watcher.stop();
    const p = await s.commitAndPush();
    assert.equal((await movedOf(seen, 'refs/heads/main')).commit, p.commit);
    assert.deepEqual(s.events, []);
  });
});

describe('RefWatcher.fresh', () => {
  it('waits for at most the pass that follows what was signalled: a poll faster than a scan (a slow reader) does not starve it', async (t) => {
    const root = tempDir(t);
    const bare = join(root, 'rules.git');
    const template = join(root, 'template');
    mkdirSync(join(template, 'rulesets'), { recursive: true });
    writeFileSync(join(template, 'rulesets', 'default.json'), '{"nftables":[]}\n');
    await initRepository(bare, template);
    const repo = await RulesetRepository.open(bare);
    // Each scan takes 30 ms, the poll asks for one every 5 ms: a scan is always scheduled.
    const slow = async () => (await new Promise((r) => setTimeout(r, 30)), repo.listRefs());
    const watcher = new RefWatcher({ gitdir: repo.gitdir, listRefs: slow, pollMs: 5 });
    await watcher.start();
    t.after(() => watcher.stop());
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++) {
      const got = await Promise.race([watcher.fresh().then(() => 'fresh'), new Promise((r) => setTimeout(() => r('starved'), 3000))]);
      assert.equal(got, 'fresh');
    }
  });
});
