/**
 * The element API's fast path on a real bare repository: commits written in process that git
 * itself accepts (fsck), the text handed to the repository reader equal to what a fresh reader
 * composes, tips carried over commits that leave the ruleset alone and read again after a push
 * that changes it, the compare-and-swap against a racing push, folds, and the whole path for
 * what is not followed.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { dirname, join } from 'node:path';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { ElementTips } from '../../../../server/git/element-tips.js';
import { RefUpdater } from '../../../../host/ref-updater.js';
import type { ErrorCode } from '../../../../shared/errors.js';
import { changeSetElements, type SetElementsRequest } from '../../../../server/git/set-elements.js';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { validatePush } from '../../../../server/push/push-validator.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { BlobIdThread } from '../../../../host/blob-id-thread.js';
import { isShared } from '../../../../shared/bytes/spare-buffer.js';
import { applyRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { expectCode } from '../../../helpers/expect-code.js';

const ip = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;
const RULESET = (n: number) => ({
  nftables: [
    { table: { family: 'inet', name: 'filter' } },
    { set: { family: 'inet', table: 'filter', name: 'blocklist', type: 'ipv4_addr', elem: Array.from({ length: n }, (_, i) => ip(i)) } },
    { set: { family: 'inet', table: 'filter', name: 'nets', type: 'ipv4_addr', flags: ['interval'], elem: [{ prefix: { addr: '198.19.0.0', len: 24 } }] } },
    { map: { family: 'inet', table: 'filter', name: 'verdicts', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }]] } },
  ],
});
const blocklist = { family: 'inet', table: 'filter', name: 'blocklist' };

async function fixture(t: TestContext, size = 300) {
  const dir = tempDir(t);
  const bare = join(dir, 'rules.git');
  const work = join(dir, 'work');
  git(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
  git(dir, ['init', '-q', '-b', 'main', work]);
  git(work, ['remote', 'add', 'origin', bare]);
  let pushed = 0;
  const push = (files: Record<string, string>, message: string) => {
    if (pushed++ > 0) git(work, ['pull', '-q', '--ff-only', 'origin', 'main']);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text);
    }
    git(work, ['add', '-A']);
    git(work, ['commit', '-qm', message]);
    git(work, ['push', '-q', 'origin', 'HEAD:main']);
  };
  push({ 'rulesets/edge.json': renderRuleset(RULESET(size)), 'rulesets/default.json': renderRuleset({ nftables: [{ table: { family: 'inet', name: 'filter' } }] }), README: 'x\n' }, 'edge');
  /** The tips built (the base's size each time). */
  const follows: number[] = [];
  const primed: Array<{ base: string; changes: readonly string[]; blob: string | Promise<string> }> = [];
  // Every base "big": tips are built in the repository's worker thread, as in the server.
  const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
  const refs = new RefUpdater(bare);
  t.after(() => refs.close());
  const tips = new ElementTips({
    gitdir: bare,
    refs,
    follow: (base, changes) => {
      follows.push(base.length);
      return repo.followText(base, changes);
    },
    prime: (base, changes, bytes, blob) => {
      // Each revision counted once (the one agents hold is handed again with the next).
      if (!primed.some((p) => p.blob === blob)) primed.push({ base, changes, blob });
      repo.primeComposed(base, changes, bytes, blob);
    },
    // As the server does: the new commit indexed from its parent's, so the reads of `repo` below
    // (compared with a fresh reader's) also check that index.
    primeChild: (commit, parent, ruleset, base, changes) => repo.primeChild(commit, parent, ruleset, base, changes),
  });
  const change = (req: Partial<SetElementsRequest>) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, ...req });
  /** What a reader that never saw a prime serves for `commit`. */
  const fresh = async (commit: string) => (await RulesetRepository.open(bare)).readRuleset(commit, 'edge');
  return { bare, work, push, primed, repo, tips, change, fresh, follows };
}

describe('ElementTips (the element API fast path)', () => {
  test('commits written in process pass git fsck; the primed text and blob id are what a fresh reader composes; author and message as the whole path writes them', async (t) => {
    const { bare, primed, repo, change, fresh } = await fixture(t, 3000);
    let last = '';
    for (let i = 0; i < 6; i++) {
      const r = await change({ add: [ip(40000 + i), ip(50000 + i)], delete: [ip(i * 7)] });
      assert.equal(r.added, 2);
      assert.equal(r.deleted, 1);
      assert.equal(git(bare, ['rev-parse', 'main']), r.commit, 'the branch moved to the commit');
      assert.equal(primed.length, i + 1, 'the fast path made it');
      const served = await repo.readRuleset(r.commit, 'edge');
      const composed = await fresh(r.commit);
      assert.equal(served.blob, composed.blob);
      assert.ok(served.bytes.equals(composed.bytes));
      assert.equal(served.blob, gitBlobId(served.bytes));
      last = r.commit;
    }
    git(bare, ['fsck', '--strict', '--no-dangling']);
    assert.equal(git(bare, ['log', '-1', '--format=%an <%ae>|%cn', last]), 'alice <alice@nft-sync.invalid>|nft-sync');
    assert.equal(git(bare, ['log', '-1', '--format=%B', last]) + '\n', `edge: set inet filter blocklist: +2 -1 elements\n\nadd "${ip(40005)}"\nadd "${ip(50005)}"\ndelete "${ip(35)}"\n\nRequested by: alice via the nft-sync element API\n`);
    assert.equal(git(bare, ['ls-tree', '--name-only', last, 'rulesets/edge.elements/']).split('\n').length, 6);
    assert.equal(git(bare, ['show', `${last}:README`]), 'x', 'the other files are kept');
  });

  test('nothing to change makes no commit; a bad element is refused by value and nothing is committed', async (t) => {
    const { bare, change } = await fixture(t);
    const head = git(bare, ['rev-parse', 'main']);
    const same = await change({ add: [ip(1)], delete: [ip(9999)] });
    assert.equal(same.commit, head);
    assert.deepEqual([same.added, same.deleted], [0, 0]);
    const err = await expectCode(change({ add: ['198.18.0.300'] }), 'NFTSYNC_ERR_ELEMENT_INVALID');
    assert.match(err.message, /198\.18\.0\.300/);
    assert.equal(git(bare, ['rev-parse', 'main']), head);
    // The tip is still good after the refusal.
    const r = await change({ add: [ip(5000)] });
    assert.equal(r.added, 1);
  });

  test('a push that leaves the ruleset alone keeps the tip; a push that changes it is read again; the result is always what composing whole gives', async (t) => {
    const { bare, push, primed, change, fresh, repo } = await fixture(t);
    await change({ add: [ip(3000)] });
    push({ README: 'y\n' }, 'readme only');
    const a = await change({ add: [ip(3001)] });
    assert.equal(git(bare, ['show', `${a.commit}:README`]), 'y', 'built on the pushed commit');
    push({ 'rulesets/edge.json': renderRuleset(RULESET(50)) }, 'a smaller base');
    const b = await change({ add: [ip(3002)], delete: [ip(3)] });
    assert.equal(primed.length, 3);
    const served = await repo.readRuleset(b.commit, 'edge');
    assert.ok(served.bytes.equals((await fresh(b.commit)).bytes));
    // Elements of the old base past 50 are gone; the change files are kept across the push.
    assert.doesNotMatch(served.bytes.toString(), /"198\.18\.0\.60"/);
    assert.match(served.bytes.toString(), /"198\.18\.11\.186"/);
  });

  test('a push racing the compare-and-swap: the change is made again on the new tip, and both survive', async (t) => {
    const { bare, work, change, fresh } = await fixture(t);
    let raced = false;
    const r = await change({
      add: [ip(4000)],
      beforeUpdate: () => {
        if (raced) return;
        raced = true;
        git(work, ['pull', '-q', '--ff-only', 'origin', 'main']);
        writeFileSync(join(work, 'rulesets/edge.json'), renderRuleset(RULESET(301)));
        git(work, ['commit', '-qam', 'racing push adds one']);
        git(work, ['push', '-q', 'origin', 'HEAD:main']);
      },
    });
    assert.equal(r.attempts, 2);
    const text = (await fresh(r.commit)).bytes.toString();
    assert.match(text, /"198\.18\.15\.160"/, 'this change');
    assert.match(text, /"198\.18\.1\.44"/, 'the racing push');
    assert.equal(git(bare, ['rev-parse', 'main']), r.commit);
  });

  test('past the fold threshold the same commit folds: the base is the composed text, the change files go, the reader serves it as stored', async (t) => {
    const { bare, change, fresh, repo, follows } = await fixture(t, 20000);
    const max = SERVER_DEFAULTS.elementLog.foldMaxFiles;
    let r;
    // Each commit indexed by `repo` (the first read, the others primed from their parents'), so the
    // fold's commit is indexed from its parent's too: what `repo` serves below checks that index.
    await repo.listRulesets(git(bare, ['rev-parse', 'main']));
    for (let i = 0; i <= max; i++) {
      r = await change({ add: [ip(30000 + i)] });
      await repo.listRulesets(r.commit);
    }
    assert.equal(r!.folded, max + 1);
    assert.equal(git(bare, ['ls-tree', '--name-only', r!.commit, 'rulesets/']), 'rulesets/default.json\nrulesets/edge.json', 'no rulesets/edge.elements/ left');
    const served = await repo.readRuleset(r!.commit, 'edge');
    assert.equal(served.blob, git(bare, ['rev-parse', `${r!.commit}:rulesets/edge.json`]));
    assert.ok(served.bytes.equals((await fresh(r!.commit)).bytes));
    git(bare, ['fsck', '--strict', '--no-dangling']);
    // The folded base's tip was built at the fold (not at the next change): it goes on from there.
    assert.deepEqual(follows, [follows[0], served.bytes.length], 'one tip at the start, one from the folded base');
    const next = await change({ delete: [ip(30000)] });
    assert.equal(follows.length, 2, 'the next change found the tip built since the fold');
    assert.ok((await repo.readRuleset(next.commit, 'edge')).bytes.equals((await fresh(next.commit)).bytes));
  });

  test('what is not followed takes the whole path: an interval set, a set emptied', async (t) => {
    const { primed, change, fresh, repo } = await fixture(t, 3);
    const n = await change({ set: { family: 'inet', table: 'filter', name: 'nets' }, add: ['198.19.8.0/24'] });
    assert.equal(n.added, 1);
    assert.equal(primed.length, 0);
    const e = await change({ delete: [ip(0), ip(1), ip(2)] });
    assert.equal(e.deleted, 3);
    assert.equal(primed.length, 0, 'emptied: composed whole');
    assert.doesNotMatch((await repo.readRuleset(e.commit, 'edge')).bytes.toString(), /"name": "blocklist",\n[^}]*"elem"/);
    const v = await change({ set: { family: 'inet', table: 'filter', name: 'verdicts' }, add: [['198.18.0.2', 'drop']] });
    assert.equal(primed.length, 1, 'a verdict map is followed');
    assert.ok((await repo.readRuleset(v.commit, 'edge')).bytes.equals((await fresh(v.commit)).bytes));
  });

  test('the revision agents hold stays in a full cache when the next one is handed over: the delta\'s base is not composed again', async (t) => {
    const { bare, change } = await fixture(t, 3000);
    const first = await change({ add: [ip(40000)] });
    const size = (await (await RulesetRepository.open(bare)).readRuleset(first.commit, 'edge')).bytes.length;
    // Room for two texts and a half: the base read at the start, then one revision after another.
    const repo = await RulesetRepository.open(bare, { maxCachedBytes: Math.floor(size * 2.5) });
    const tips = new ElementTips({ gitdir: bare, prime: (b, c, bytes, blob) => repo.primeComposed(b, c, bytes, blob) });
    const step = (i: number) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: [ip(41000 + i)] });
    await repo.readRuleset(first.commit, 'edge');
    let held = (await step(0)).commit;
    for (let i = 1; i < 4; i++) {
      const next = (await step(i)).commit;
      // What a fetch asks: the new revision, then the one the agent holds (the delta's base). A
      // miss would compose it from the repository: its change files are made unreadable here.
      await repo.readRuleset(next, 'edge');
      for (const line of git(bare, ['ls-tree', `${held}:rulesets/edge.elements`]).split('\n')) {
        const id = line.split(/\s+/)[2]!;
        rmSync(join(bare, 'objects', id.slice(0, 2), id.slice(2)), { force: true });
      }
      assert.ok((await repo.readRuleset(held, 'edge')).bytes.length > 0, `revision ${i} still served from memory`);
      held = next;
    }
  });
});

describe('ElementTips: what the agents wait for', () => {
  test('the delta from the revision agents hold is handed over before a reader can learn the new revision\'s blob id (it rebuilds the new text); the branch moves meanwhile; the blob id worked out in the worker is git\'s; `moved` comes once the branch moved; the next text goes into memory prepared meanwhile', async (t) => {
    // Big enough (over 1 MiB) that the blob id is computed in the worker.
    const { bare, fresh } = await fixture(t, 60_000);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const blobIds = new BlobIdThread();
    t.after(() => blobIds.close());
    const events: string[] = [];
    const deltas: Array<{ base: string; target: string; delta: Buffer | undefined; branch: string }> = [];
    const primed = new Map<string, { bytes: Buffer; spare: number }>();
    const tips = new ElementTips({
      gitdir: bare,
      blobIds,
      spareDelayMs: 0,
      follow: (base, changes) => repo.followText(base, changes),
      prime: (b, c, bytes, blob) => {
        const spare = tips.spareBytes;
        void Promise.all([blob, bytes]).then(([id, text]) => primed.set(id, { bytes: text, spare }));
        repo.primeComposed(b, c, bytes, blob);
      },
      delta: (base, target, delta) => {
        events.push('delta');
        deltas.push({ base, target, delta, branch: git(bare, ['rev-parse', 'main']) });
      },
      moved: (ref, commit) => {
        events.push(`moved ${ref} ${commit} ${git(bare, ['rev-parse', 'main'])}`);
        // What an agent's fetch does once told: read the new revision (its blob id included).
        void repo.readRuleset(commit, 'edge').then(() => events.push('read'));
      },
    });
    t.after(() => tips.close());
    const step = (i: number) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: [ip(61000 + i), ip(62000 + i)], delete: [ip(i * 11)] });
    const first = await step(0);
    await waitFor(() => events.includes('read'), { timeoutMs: 10_000, what: 'the read' });
    assert.deepEqual(events, [`moved refs/heads/main ${first.commit} ${first.commit}`, 'read'], 'no delta: this server did not make the revision before');
    let held = await fresh(first.commit);
    for (let i = 1; i < 4; i++) {
      // The text goes into the block prepared after the last change (spareDelayMs 0: at once).
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(tips.spareBytes > held.bytes.length, `change ${i}: memory prepared for the next text`);
      events.length = 0;
      const r = await step(i);
      const now = await fresh(r.commit);
      await waitFor(() => events.includes('read'), { timeoutMs: 10_000, what: 'the read' });
      const moved = `moved refs/heads/main ${r.commit} ${r.commit}`;
      assert.deepEqual(new Set(events), new Set(['delta', moved, 'read']));
      assert.ok(events.indexOf('delta') < events.indexOf('read'), `the delta was ready before a reader had the new id: ${events.join(', ')}`);
      const d = deltas.at(-1)!;
      assert.ok(d.branch === r.previous || d.branch === r.commit);
      assert.equal(d.base, held.blob, 'from the revision agents hold');
      assert.equal(d.target, now.blob, 'to the new one, its id as a fresh reader composes it');
      assert.equal(d.target, git(bare, ['hash-object', '--stdin'], now.bytes.toString()), "git's blob id");
      assert.ok(d.delta !== undefined && applyRulesetDelta(held.bytes, d.delta, now.bytes.length + 1).equals(now.bytes), 'the delta rebuilds the new text');
      const p = primed.get(now.blob)!;
      assert.ok(isShared(p.bytes) && p.spare === 0, 'the text was written into the prepared (shared) block');
      held = now;
    }
  });
});

describe('ElementTips: the hash goes on from the last text (shared/ruleset/text-pad.ts)', () => {
  test('adds keep a big text\'s size, so its blob id is hashed from the state the worker kept for the text agents hold, at the head both share; the id is git\'s, and the delta is the change\'s lines and a pad line', async (t) => {
    const { bare, fresh } = await fixture(t, 60_000);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const blobIds = new BlobIdThread();
    t.after(() => blobIds.close());
    const deltas: Array<Buffer | undefined> = [];
    const tips = new ElementTips({
      gitdir: bare,
      blobIds,
      spareDelayMs: 0,
      follow: (base, changes) => repo.followText(base, changes),
      prime: (b, c, bytes, blob) => repo.primeComposed(b, c, bytes, blob),
      delta: (_base, _target, delta) => deltas.push(delta),
    });
    t.after(() => tips.close());
    const step = (i: number) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: Array.from({ length: 50 }, (_, k) => ip(61_000 + i * 50 + k)) });
    let held = await fresh((await step(0)).commit);
    for (let i = 1; i < 4; i++) {
      const before = blobIds.resumedBytes;
      const r = await step(i);
      const now = await fresh(r.commit);
      assert.equal(now.bytes.length, held.bytes.length, `change ${i}: the size kept by the pad`);
      assert.equal(now.blob, git(bare, ['hash-object', '--stdin'], now.bytes.toString()), `change ${i}: git's blob id`);
      const skipped = blobIds.resumedBytes - before;
      assert.ok(skipped >= now.bytes.length - 512 * 1024 - 200_000, `change ${i}: ${skipped} of ${now.bytes.length} bytes not hashed again`);
      const d = deltas.at(-1);
      assert.ok(d !== undefined && applyRulesetDelta(held.bytes, d, now.bytes.length + 1).equals(now.bytes), 'the delta rebuilds the new text');
      assert.ok(d.length < 50 * 40 + 1024 + 200, `change ${i}: a delta of ${d.length} bytes`);
      held = now;
    }
  });
});

describe('ElementTips: after a start', () => {
  test('a warmed tip\'s text is hashed in the worker, so the first change after a start goes on from its state', async (t) => {
    const { bare, change, fresh } = await fixture(t, 60_000);
    // A ruleset with a change file, as after days of API changes: its text is padded.
    const before = await change({ add: [ip(61_000)] });
    const held = await fresh(before.commit);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const blobIds = new BlobIdThread();
    t.after(() => blobIds.close());
    const primed: string[] = [];
    // A server just started: a tips of its own, warmed.
    const tips = new ElementTips({ gitdir: bare, blobIds, follow: (b, c) => repo.followText(b, c), prime: (_b, _c, _bytes, blob) => void Promise.resolve(blob).then((id) => primed.push(id)) });
    t.after(() => tips.close());
    assert.deepEqual(await tips.warm('refs/heads/main'), ['edge']);
    await waitFor(() => primed.includes(held.blob), { what: 'the held revision handed to the reader', timeoutMs: 30_000 });
    const resumed = blobIds.resumedBytes;
    const r = await changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: [ip(61_001), ip(61_002)] });
    const made = await fresh(r.commit);
    assert.equal(made.bytes.length, held.bytes.length, 'the size kept');
    assert.ok(blobIds.resumedBytes - resumed > made.bytes.length / 2, `${blobIds.resumedBytes - resumed} of ${made.bytes.length} bytes not hashed again`);
    assert.ok(primed.includes(made.blob) && made.blob === git(bare, ['hash-object', '--stdin'], made.bytes.toString()), "git's blob id handed on");
  });
});

describe('ElementTips: the ahead delta (protocol 2)', () => {
  test('the delta from the revision agents hold is handed to `ahead` while the worker joins and hashes the new text, before the commit\'s objects are written and before the branch moves; it rebuilds the new text, from the commit it was made on', async (t) => {
    const { bare, fresh } = await fixture(t, 60_000);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const blobIds = new BlobIdThread();
    t.after(() => blobIds.close());
    const seen: Array<{ ref: string; commit: string; parent: string; base: string; target: number; delta: Buffer; written: boolean; branch: string }> = [];
    const joinedInWorker: boolean[] = [];
    const tips = new ElementTips({
      gitdir: bare,
      blobIds,
      spareDelayMs: 0,
      follow: (base, changes) => repo.followText(base, changes),
      prime: (b, c, bytes, blob) => {
        // The new text (after the revision agents hold, primed again first) is on its way: joined by the worker as it hashes it.
        if (c.length > 0) joinedInWorker.push(!Buffer.isBuffer(bytes));
        repo.primeComposed(b, c, bytes, blob);
      },
      delta: () => {},
      ahead: (ref, commit, a) => {
        let written = true;
        try {
          git(bare, ['cat-file', '-e', commit]);
        } catch {
          written = false;
        }
        seen.push({ ref, commit, ...a, written, branch: git(bare, ['rev-parse', 'main']) });
      },
    });
    t.after(() => tips.close());
    // Adds only (one window of new lines: found from the head of the text), then a change that also
    // deletes (two places: worked out on the whole text, and handed after the objects are written).
    const step = (i: number) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: [ip(61000 + i), ip(62000 + i)], ...(i === 3 && { delete: [ip(i * 11)] }) });
    let held = await fresh((await step(0)).commit);
    assert.equal(seen.length, 0, 'no ahead: this server did not make the revision before');
    for (let i = 1; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const r = await step(i);
      const now = await fresh(r.commit);
      const a = seen.at(-1)!;
      assert.equal(seen.length, i);
      assert.deepEqual({ ref: a.ref, commit: a.commit, parent: a.parent, base: a.base, target: a.target }, { ref: 'refs/heads/main', commit: r.commit, parent: r.previous, base: held.blob, target: now.bytes.length });
      assert.equal(a.branch, r.previous, 'before the branch moved');
      assert.equal(a.written, i === 3, i === 3 ? 'a change in two places: after the objects' : 'handed before the commit was written');
      // (A change that deletes is joined here: its delta is worked out on the whole text, without waiting for the worker's hash.)
      assert.equal(joinedInWorker.at(-1), i < 3, 'the new text is joined by the worker as it hashes it, not on the event loop');
      assert.ok(applyRulesetDelta(held.bytes, a.delta, now.bytes.length + 1).equals(now.bytes), 'the delta rebuilds the new text');
      held = now;
    }
  });
});

describe('ElementTips: memory held by the texts (review)', () => {
  test('review: a warmed tip built after close() hands nothing to the reader and prepares no memory (a closed app went on to allocate a block the size of the text, 31 MB for 1,000,000 elements)', async (t) => {
    const { bare, repo } = await fixture(t, 60_000);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const primedAfter: string[] = [];
    const tips = new ElementTips({
      gitdir: bare,
      spareDelayMs: 10,
      // The tip's build still in progress (in the worker) when the app closes.
      follow: async (base, changes) => {
        await held;
        return repo.followText(base, changes);
      },
      prime: (base) => primedAfter.push(base),
    });
    assert.deepEqual(await tips.warm('refs/heads/main'), ['edge']);
    tips.close();
    release();
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(primedAfter, [], 'nothing handed to the reader after close');
    assert.equal(tips.spareBytes, 0, 'no memory prepared after close');
  });

  test('security: a small ruleset\'s texts are not written into prepared blocks: a 10 KB text pinned a block of over 1 MiB (the readers\' caches count its 10 KB), so changes made through the API could hold many times the cache budget', async (t) => {
    const { bare } = await fixture(t, 300);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const held: Buffer[] = [];
    const tips = new ElementTips({
      gitdir: bare,
      spareDelayMs: 0,
      follow: (base, changes) => repo.followText(base, changes),
      prime: (b, c, bytes, blob) => {
        void Promise.resolve(bytes).then((text) => held.push(text));
        repo.primeComposed(b, c, bytes, blob);
      },
    });
    t.after(() => tips.close());
    for (let i = 0; i < 4; i++) {
      await changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add: [ip(1000 + i)] });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(tips.spareBytes, 0, `change ${i}: no memory prepared for a small text`);
    }
    assert.ok(held.length >= 4);
    for (const bytes of held) assert.ok(bytes.buffer.byteLength <= 2 * bytes.length + 8192, `a ${bytes.length}-byte text holds ${bytes.buffer.byteLength} bytes`);
  });
});

describe('ElementTips: attack findings (docs/security.md)', () => {
  const HOSTILE = {
    nftables: [
      { table: { family: 'inet', name: 'filter' } },
      { chain: { family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { chain: { family: 'inet', table: 'filter', name: 'leaf' } },
      { set: { family: 'inet', table: 'filter', name: 'ifs', type: 'ifname', elem: ['lo0'] } },
      { set: { family: 'inet', table: 'filter', name: 'tmo', type: 'ipv4_addr', flags: ['timeout'], elem: ['198.18.0.1'] } },
      { set: { family: 'inet', table: 'filter', name: 'small', type: 'ipv4_addr', size: 2, elem: ['198.18.0.1', '198.18.0.2'] } },
      { map: { family: 'inet', table: 'filter', name: 'vm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }], ['198.18.0.2', { jump: { target: 'leaf' } }]] } },
      { rule: { family: 'inet', table: 'filter', chain: 'input', expr: [{ vmap: { key: { payload: { protocol: 'ip', field: 'saddr' } }, data: '@vm' } }] } },
    ],
  };
  const name = (n: string) => ({ family: 'inet', table: 'filter', name: n });

  test('what nft refuses is refused on the fast path too, and nothing is committed; what it takes still goes the fast way', { skip: process.getuid?.() !== 0 && 'needs root (the validator loads nft)' }, async (t) => {
    const { bare, push, primed, tips } = await fixture(t, 3);
    push({ 'rulesets/edge.json': renderRuleset(HOSTILE) }, 'hostile sets');
    const change = (set: string, add: unknown[]) => changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: name(set), owner: 'mallory', add, tips, nft: 'auto' });
    const head = git(bare, ['rev-parse', 'main']);
    const cases: Array<[string, unknown[], ErrorCode]> = [
      ['ifs', ['eth*'], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['ifs', ['eth\\*'], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['ifs', ['a\ud800'], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['tmo', [{ elem: { val: '198.18.0.9', comment: 'a\u0000b' } }], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['tmo', [{ elem: { val: '198.18.0.9', comment: '€'.repeat(100) } }], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['tmo', [{ elem: { val: '198.18.0.9', timeout: 2 ** 40 } }], 'NFTSYNC_ERR_ELEMENT_INVALID'],
      ['small', ['198.18.0.9'], 'NFTSYNC_ERR_PUSH_REFUSED'],
      ['vm', [['198.18.0.9', 'jump nochain']], 'NFTSYNC_ERR_PUSH_REFUSED'],
      ['vm', [['198.18.0.9', 'goto input']], 'NFTSYNC_ERR_PUSH_REFUSED'],
      ['vm', [['198.18.0.9', 'jump input']], 'NFTSYNC_ERR_PUSH_REFUSED'],
    ];
    for (const [set, add, code] of cases) {
      await expectCode(change(set, add), code);
      assert.equal(git(bare, ['rev-parse', 'main']), head, `${set} ${JSON.stringify(add)}: nothing committed`);
    }
    assert.equal(primed.length, 0);
    const ok = await change('vm', [['198.18.0.9', 'jump leaf'], ['198.18.0.10', 'drop']]);
    assert.equal(ok.added, 2);
    assert.equal(primed.length, 1, 'a jump to a leaf chain is followed');
    const made = await change('small', ['198.18.0.2']);
    assert.equal(made.added, 0, 'an element present counts once against the size');
  });

  test('after a fold, adds and replacements go on byte for byte as composing the folded base whole (the tip kept the old base and net change: new elements came out in another order)', async (t) => {
    const { change, fresh, repo, primed } = await fixture(t, 2000);
    let r;
    for (let i = 0; r?.folded === undefined || r.folded === 0; i++) r = await change({ add: [ip(30000 + i)] });
    for (const add of [[ip(40000)], [ip(40001), ip(30000)], [ip(30001), ip(5)]]) {
      const n = await change({ add, delete: [ip(7)] });
      const served = await repo.readRuleset(n.commit, 'edge');
      assert.equal(served.blob, (await fresh(n.commit)).blob, `after the fold, adding ${add.join(' ')}`);
    }
    assert.ok(primed.length > 3);
  });

  test('warm reads a branch\'s big rulesets before any change (the first change after a start took seconds for a big set): the change after it reads nothing again; small rulesets and missing branches are left alone', async (t) => {
    // About 1.2 MB: a big ruleset (1 MiB or more); default.json is small.
    const { tips, change, fresh, follows } = await fixture(t, 60_000);
    assert.deepEqual(await tips.warm('refs/heads/nope'), []);
    assert.deepEqual(await tips.warm('refs/heads/main'), ['edge']);
    assert.equal(follows.length, 1, 'edge followed once');
    assert.ok(follows[0]! >= 1 << 20);
    assert.equal(tips.size, 1);
    const r = await change({ add: ['198.19.250.1'] });
    assert.equal(r.added, 1);
    assert.equal(follows.length, 1, 'the change used the warmed tip: nothing read or followed again');
    assert.ok((await fresh(r.commit)).bytes.includes(Buffer.from('"198.19.250.1"')));
    // Warming again keeps the tip the change left (it is newer) and reads nothing.
    assert.deepEqual(await tips.warm('refs/heads/main'), []);
    assert.equal(follows.length, 1);
  });

  test('a warmed tip hands the reader the revision agents hold (text and git\'s blob id) and prepares memory, so the first change works out the agents\' delta ahead as the next ones do (it took 0.9 s without)', async (t) => {
    const { bare, primed, fresh } = await fixture(t, 60_000);
    const head = git(bare, ['rev-parse', 'main']);
    const held = await fresh(head);
    const deltas: Array<{ base: string; target: string; delta: Buffer | undefined }> = [];
    // The fixture's tips take no `delta`: a second ElementTips on the same repository that does.
    const withDelta = new ElementTips({ gitdir: bare, delta: (base, target, delta) => deltas.push({ base, target, delta }), prime: (base, changes, bytes, blob) => primed.push({ base, changes, blob }) });
    t.after(() => withDelta.close());
    assert.deepEqual(await withDelta.warm('refs/heads/main'), ['edge']);
    await waitFor(() => primed.some((p) => p.blob === held.blob), { what: 'the held revision handed to the reader', timeoutMs: 20_000 });
    await waitFor(() => withDelta.spareBytes > 0, { what: 'memory prepared for the next text', timeoutMs: 5000 });
    const r = await withDelta.change({ branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', add: ['198.19.250.2'], delete: [] }, 'refs/heads/main', head, 1, () => 'add one');
    assert.ok(r !== undefined && r !== 'moved');
    assert.equal(r.done.added, 1);
    assert.equal(deltas.length, 1, 'the delta from the held revision, handed over with the change');
    assert.equal(deltas[0]!.base, held.blob);
    const made = await fresh(r.done.commit);
    assert.equal(deltas[0]!.target, made.blob);
    assert.ok(applyRulesetDelta(held.bytes, deltas[0]!.delta!, 1 << 26).equals(made.bytes), 'the delta rebuilds the new text from the held one');
  });

  test('security: a warmed ruleset stored otherwise than rendered (indented otherwise, no change files) is served as stored: the reader was handed the rendered text under the stored blob id, and agents got bytes that do not hash to the id they were given', async (t) => {
    const { bare, push, primed, repo, fresh } = await fixture(t, 3);
    // Valid JSON, but not renderRuleset's layout: a push may store any.
    push({ 'rulesets/edge.json': JSON.stringify(RULESET(60_000), null, 1) }, 'compact');
    const head = git(bare, ['rev-parse', 'main']);
    const stored = Buffer.from(execFileSync('git', ['cat-file', 'blob', `${head}:rulesets/edge.json`], { cwd: bare, maxBuffer: 1 << 26 }));
    const tips = new ElementTips({ gitdir: bare, prime: (base, changes, bytes, blob) => {
      primed.push({ base, changes, blob });
      repo.primeComposed(base, changes, bytes, blob);
    } });
    t.after(() => tips.close());
    assert.deepEqual(await tips.warm('refs/heads/main'), ['edge']);
    // Once the tip is built, what it hands the reader (the bug: the rendered text, under the stored file's id).
    await waitFor(() => tips.spareBytes > 0 || primed.length > 0, { what: 'the warmed tip served', timeoutMs: 20_000 });
    const served = await repo.readRuleset(head, 'edge');
    assert.equal(gitBlobId(served.bytes), served.blob, 'the bytes served hash to the blob id served');
    assert.ok(served.bytes.equals(stored), 'the ruleset as stored');
    // The first change then composes as a fresh reader does.
    const r = await tips.change({ branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', add: ['198.19.250.3'], delete: [] }, 'refs/heads/main', head, 1, () => 'add one');
    assert.ok(r !== undefined && r !== 'moved', 'the fast path took it');
    const made = await repo.readRuleset(r.done.commit, 'edge');
    assert.equal(made.blob, gitBlobId(made.bytes));
    assert.ok(made.bytes.equals((await fresh(r.done.commit)).bytes));
  });

  test('warm counts only files it can follow toward maxTips: big files under rulesets/ whose names are no ruleset names (a repository written without the validator) do not crowd out a real big ruleset', async (t) => {
    const { tips, push, work } = await fixture(t, 60_000);
    const text = readFileSync(join(work, 'rulesets/edge.json'), 'utf8');
    // Sorted before edge.json by git, as many as maxTips: the validator refuses each by its name.
    const files: Record<string, string> = {};
    for (const name of ['-a', '.x', 'A B', 'a\tb', 'a..b'].slice(0, SERVER_DEFAULTS.elementLog.maxTips + 1)) files[`rulesets/${name}.json`] = text;
    push(files, 'big files of no ruleset name');
    assert.deepEqual(await tips.warm('refs/heads/main'), ['edge']);
  });

  test('tips are bounded (elementLog.maxTips, least recently used dropped): changes on many branches do not keep a ruleset in memory for each (about 120 MB a 1,000,000-element set)', async (t) => {
    const { bare, tips, change, fresh, repo } = await fixture(t);
    const max = SERVER_DEFAULTS.elementLog.maxTips;
    for (let b = 0; b < max + 3; b++) {
      git(bare, ['branch', `b${b}`, 'main']);
      await change({ branch: `b${b}`, add: [ip(9000 + b)] });
      assert.ok(tips.size <= max, `${tips.size} tips kept after ${b + 1} branches`);
    }
    assert.equal(tips.size, max);
    // The dropped ones are read again, and still right.
    const r = await change({ branch: 'b0', add: [ip(9100)] });
    assert.ok((await repo.readRuleset(r.commit, 'edge')).bytes.equals((await fresh(r.commit)).bytes));
    assert.equal(tips.size, max);
  });

  test('concurrent changes to one branch (no queue: another server process, or a caller without one) never share a tip: every text handed to the reader is what its files compose', async (t) => {
    const { bare, primed, repo, change, fresh } = await fixture(t, 3000);
    await change({ add: [ip(9999)] });
    let n = 0;
    for (let round = 0; round < 4; round++) {
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => change({ add: [ip(10000 + n)], delete: [ip(n++)], maxAttempts: 30 })));
      for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
    }
    const blob = (id: string) => Buffer.from(execFileSync('git', ['cat-file', 'blob', id], { cwd: bare }));
    for (const p of primed) {
      const want = composeRulesetText({ path: 'base', bytes: blob(p.base) }, p.changes.map((c) => ({ path: c, bytes: blob(c) })));
      assert.equal(p.blob, gitBlobId(Buffer.from(want)), `primed ${p.base} + ${p.changes.length} changes`);
    }
    for (const commit of git(bare, ['rev-list', 'main']).split('\n')) assert.equal((await repo.readRuleset(commit, 'edge')).blob, (await fresh(commit)).blob, commit);
    git(bare, ['fsck', '--strict', '--no-dangling']);
  });

  test('a jump added to a map reached 15 chains deep is refused (nft: too many links), not committed by the fast path', { skip: process.getuid?.() !== 0 && 'needs root (the validator loads nft)' }, async (t) => {
    const { bare, push, primed, tips } = await fixture(t, 3);
    const depth = 15;
    const chain = (n: string, extra = {}) => ({ chain: { family: 'inet', table: 'filter', name: n, ...extra } });
    const rule = (c: string, expr: unknown[]) => ({ rule: { family: 'inet', table: 'filter', chain: c, expr } });
    const hops = Array.from({ length: depth }, (_, i) => `c${i}`);
    push({
      'rulesets/edge.json': renderRuleset({
        nftables: [
          { table: { family: 'inet', name: 'filter' } },
          chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }),
          chain('leaf'),
          ...hops.map((c) => chain(c)),
          ...hops.map((c, i) => rule(i === 0 ? 'input' : hops[i - 1]!, [{ jump: { target: c } }])),
          { map: { family: 'inet', table: 'filter', name: 'vm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }]] } },
          rule(hops.at(-1)!, [{ vmap: { key: { payload: { protocol: 'ip', field: 'saddr' } }, data: '@vm' } }]),
        ],
      }),
    }, 'a map 15 chains deep');
    const head = git(bare, ['rev-parse', 'main']);
    const err = await expectCode(changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: name('vm'), owner: 'mallory', add: [['198.18.0.9', 'jump leaf']], tips, nft: 'auto' }), 'NFTSYNC_ERR_PUSH_REFUSED');
    assert.match(err.message, /Too many links/);
    assert.equal(git(bare, ['rev-parse', 'main']), head);
    assert.equal(primed.length, 0);
  });

  test('every commit the fast path makes passes the push validator: nft loads it and lists it back as written (protocol numbers netbase names, IPv6 forms, edge values)', { skip: process.getuid?.() !== 0 && 'needs root (the validator loads nft)' }, async (t) => {
    const { bare, push, primed, tips } = await fixture(t, 3);
    const sets = [
      { set: { family: 'inet', table: 'filter', name: 'pr', type: 'inet_proto', elem: ['tcp'] } },
      { set: { family: 'inet', table: 'filter', name: 'pm', type: ['ipv4_addr', 'inet_proto'], elem: [{ concat: ['198.18.0.1', 'tcp'] }] } },
      { set: { family: 'inet', table: 'filter', name: 'v6', type: 'ipv6_addr', elem: ['fd00::1'] } },
      { set: { family: 'inet', table: 'filter', name: 'mk', type: 'mark', elem: [1] } },
      { set: { family: 'inet', table: 'filter', name: 'et', type: 'ether_addr', elem: ['02:00:00:00:00:01'] } },
    ];
    push({ 'rulesets/edge.json': renderRuleset({ nftables: [...HOSTILE.nftables, ...sets] }) }, 'more sets');
    const cases: Array<[string, unknown[]]> = [
      ['pr', [0, 3, 103, 112, 143, 254, 'l2tp']],
      ['pm', [{ concat: ['198.18.0.2', 0] }, { concat: ['198.18.0.3', 47] }]],
      ['v6', ['::ffff:1.2.3.4', '::1.2.3.4', '::', '::1', 'FD00:0::A', '64:ff9b::102:304']],
      ['mk', [0, 4294967295, '0xff']],
      ['et', ['00:00:00:00:00:00', 'FF:FF:FF:FF:FF:FF']],
      ['ifs', ['*', 'a*b', 'ééééééé1', 'a:b', 'eth\\']],
      ['tmo', [{ elem: { val: '198.18.0.9', comment: `${'€'.repeat(83)}ab` } }, { elem: { val: '198.18.0.10', timeout: 18446744073, comment: 'a\tb\n"\u2028' } }]],
      ['vm', [['198.18.0.9', 'jump leaf'], ['198.18.0.10', { goto: { target: 'leaf' } }]]],
    ];
    for (const [set, add] of cases) {
      const before = primed.length;
      const r = await changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: name(set), owner: 'mallory', add, tips, nft: 'auto' });
      assert.equal(r.added, add.length, `${set}: ${JSON.stringify(add)}`);
      assert.equal(primed.length, before + 1, `${set}: the fast path made it`);
      const judged = await validatePush([{ old: r.previous, new: r.commit, ref: 'refs/heads/main' }], { gitdir: bare, nft: 'auto' });
      assert.deepEqual(judged.problems.map((p) => `${p.code}: ${p.message.slice(0, 300)}`), [], `${set}: ${JSON.stringify(add)}`);
    }
  });

  test('a branch pointing at an annotated tag object (a repository edited on disk) gets no commit whose parent is the tag: the fast path builds only on a commit', async (t) => {
    const { bare, change } = await fixture(t);
    const head = git(bare, ['rev-parse', 'refs/heads/main']);
    const tag = git(bare, ['mktag'], `object ${head}\ntype commit\ntag v1\ntagger T <t@x> 0 +0000\n\nv1\n`);
    // git update-ref refuses a non-commit on a branch: the file written by hand.
    rmSync(join(bare, 'packed-refs'), { force: true });
    writeFileSync(join(bare, 'refs/heads/main'), `${tag}\n`);
    await change({ add: [ip(5000)] }).catch(() => undefined);
    const now = git(bare, ['rev-parse', 'refs/heads/main']);
    if (now !== tag) {
      // Whatever moved the branch, it is to a commit whose parent is a commit.
      assert.equal(git(bare, ['cat-file', '-t', now]), 'commit');
      const parent = git(bare, ['rev-parse', `${now}^1`]);
      assert.equal(git(bare, ['cat-file', '-t', parent]), 'commit', 'the new commit\'s parent is a commit, not the tag object');
      execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: bare, stdio: 'pipe' });
    }
  });

  test('a change prints nothing of its own on stderr (timings were left printed at every change)', async (t) => {
    const { change, primed } = await fixture(t);
    const printed: unknown[][] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      await change({ add: [ip(7000)] });
    } finally {
      console.error = error;
    }
    assert.equal(primed.length, 1);
    assert.deepEqual(printed, []);
  });
});
