/**
 * One long-lived `git update-ref --stdin`: updates in order, a refused compare-and-swap rejected
 * with git's message and code, the next update served by a new git, close refuses the rest.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { RefUpdater } from '../../../host/ref-updater.js';
import { git, tempDir } from '../../helpers/git-fixture.js';

test('moves a ref from the commit it names, refuses one that moved, and goes on after a refusal', async (t) => {
  const bare = join(tempDir(t), 'r.git');
  git(tempDir(t), ['init', '-q', '--bare', '-b', 'main', bare]);
  const tree = git(bare, ['mktree'], '');
  const chain = [git(bare, ['commit-tree', tree, '-m', '0'])];
  for (let i = 1; i < 6; i++) chain.push(git(bare, ['commit-tree', tree, '-p', chain[i - 1]!, '-m', String(i)]));
  git(bare, ['update-ref', 'refs/heads/main', chain[0]!]);
  const updater = new RefUpdater(bare);
  t.after(() => updater.close());
  // Several at once: taken in order, each from the one before.
  await Promise.all([1, 2, 3].map((i) => updater.update('refs/heads/main', chain[i]!, chain[i - 1]!)));
  assert.equal(git(bare, ['rev-parse', 'main']), chain[3]);
  const refused = await updater.update('refs/heads/main', chain[5]!, chain[1]!).then(() => undefined, (e: unknown) => e as Error & { exitCode?: number });
  assert.ok(refused, 'refused: main is not at chain[1]');
  assert.equal(refused.exitCode, 128);
  assert.match(refused.message, /cannot lock ref 'refs\/heads\/main': is at [0-9a-f]{40} but expected/);
  assert.equal(git(bare, ['rev-parse', 'main']), chain[3]);
  await updater.update('refs/heads/main', chain[4]!, chain[3]!);
  assert.equal(git(bare, ['rev-parse', 'main']), chain[4]);
  await assert.rejects(updater.update('refs/heads/main x', chain[5]!, chain[4]!), /not a ref and object ids/);
  updater.close();
  await assert.rejects(updater.update('refs/heads/main', chain[5]!, chain[4]!), /closed/);
  assert.equal(git(bare, ['rev-parse', 'main']), chain[4]);
});
