/**
 * Loose objects written in process are objects git reads as its own: same ids as `git
 * hash-object` and `git mktree`, accepted by `git fsck`, and written once.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LooseObjectBatch, SYNC_OBJECT_MAX_BYTES, writeLooseObject, writeLooseObjectSync } from '../../../../server/git/loose-object.js';
import { serializeCommit, serializeTree } from '../../../../shared/git/git-objects.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('blobs, trees and commits written in process have git\'s ids and pass git fsck; an object already there is not rewritten', async (t) => {
  const bare = join(tempDir(t), 'r.git');
  git(tempDir(t), ['init', '-q', '--bare', bare]);
  const text = Buffer.from('{"nftables": []}\n');
  const blob = await writeLooseObject(bare, 'blob', text);
  assert.equal(blob, git(bare, ['hash-object', '--stdin'], text.toString()));
  assert.equal(git(bare, ['cat-file', '-p', blob]), text.toString().trimEnd());
  // Names sorted as git sorts them (a tree's name as if it ended in "/").
  const sub = await writeLooseObject(bare, 'tree', serializeTree([{ mode: '100644', name: 'a.json', id: blob }]));
  const entries = [
    { mode: '100644', name: 'rulesets.json', id: blob },
    { mode: '40000', name: 'rulesets', id: sub },
    { mode: '100644', name: 'rulesets-x', id: blob },
    { mode: '100755', name: 'A', id: blob },
  ];
  const tree = await writeLooseObject(bare, 'tree', serializeTree(entries));
  const mktree = git(bare, ['mktree'], `100644 blob ${blob}\trulesets.json\n040000 tree ${sub}\trulesets\n100644 blob ${blob}\trulesets-x\n100755 blob ${blob}\tA\n`);
  assert.equal(tree, mktree);
  const commit = await writeLooseObject(bare, 'commit', serializeCommit({ tree, parents: [], author: { name: 'a<b>\nc', email: 'a@b', seconds: 1700000000 }, committer: { name: 'nft-sync', email: 'n@n', seconds: 1700000000 }, message: 'm\n' }));
  git(bare, ['update-ref', 'refs/heads/main', commit]);
  assert.equal(git(bare, ['log', '-1', '--format=%an|%ae|%at|%s', 'main']), 'abc|a@b|1700000000|m');
  git(bare, ['fsck', '--strict', '--no-dangling']);
  const file = join(bare, 'objects', blob.slice(0, 2), blob.slice(2));
  const before = statSync(file).mtimeMs;
  assert.equal(await writeLooseObject(bare, 'blob', text), blob);
  assert.equal(statSync(file).mtimeMs, before, 'not written again');
});

test('a batch names its objects before writing them, then writes them all; git reads the commit', async (t) => {
  const bare = join(tempDir(t), 'b.git');
  git(tempDir(t), ['init', '-q', '--bare', bare]);
  const batch = new LooseObjectBatch(bare);
  const blob = batch.add('blob', Buffer.from('x\n'));
  const tree = batch.add('tree', serializeTree([{ mode: '100644', name: 'x', id: blob }]));
  const commit = batch.add('commit', serializeCommit({ tree, parents: [], author: { name: 'a', email: 'a@a', seconds: 1 }, committer: { name: 'a', email: 'a@a', seconds: 1 }, message: 'm\n' }));
  assert.throws(() => git(bare, ['cat-file', '-e', commit]), 'nothing written before write()');
  await batch.write();
  git(bare, ['update-ref', 'refs/heads/main', commit]);
  assert.equal(git(bare, ['show', 'main:x']), 'x');
  git(bare, ['fsck', '--strict', '--no-dangling']);
});

test('a batch writes its small objects before write() returns (no turn of the event loop per step), its big ones on the thread pool; both as git writes them', async (t) => {
  const bare = join(tempDir(t), 'c.git');
  git(tempDir(t), ['init', '-q', '--bare', bare]);
  const batch = new LooseObjectBatch(bare);
  const small = batch.add('blob', Buffer.from('small\n'));
  const bigText = Buffer.from('{"x": 1}\n'.repeat(SYNC_OBJECT_MAX_BYTES / 8));
  const big = batch.add('blob', bigText);
  const tree = batch.add('tree', serializeTree([{ mode: '100644', name: 'big', id: big }, { mode: '100644', name: 'small', id: small }]));
  const writing = batch.write();
  // Not awaited yet: the small ones are there, the big one is not.
  git(bare, ['cat-file', '-e', small]);
  git(bare, ['cat-file', '-e', tree]);
  assert.throws(() => git(bare, ['cat-file', '-e', big]), 'the big one is written on the thread pool');
  await writing;
  assert.equal(git(bare, ['cat-file', 'blob', big]) + '\n', bigText.toString());
  assert.equal(writeLooseObjectSync(bare, 'blob', Buffer.from('small\n')), small, 'written once, same id');
  git(bare, ['fsck', '--strict', '--no-dangling', tree]);
});
