/**
 * GitObjectBatch against a real repository: reads in flight answered in order, contents with
 * newlines and binary bytes intact, peeling, a missing object, and a failure once git is gone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GitObjectBatch } from '../../../../server/push/git-object-batch.js';
import { tempDir, testGitEnv } from '../../../helpers/git-fixture.js';

describe('GitObjectBatch', () => {
  test('answers many reads in order, byte for byte; peels a tag; a missing object is undefined', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'r.git');
    execFileSync('git', ['init', '-q', '--bare', bare]);
    const g = (args: string[], input?: string | Buffer) => execFileSync('git', ['--git-dir', bare, ...args], { input, env: testGitEnv(), encoding: 'utf8' }).trim();
    const texts = [Buffer.from('a\nb\n\n'), Buffer.from([0, 10, 255, 10, 10]), Buffer.alloc(200_000, 'x\n'), Buffer.alloc(0)];
    const ids = texts.map((b) => g(['hash-object', '-w', '--stdin'], b));
    const tree = g(['mktree'], `100644 blob ${ids[0]}\tf\n`);
    const commit = g(['commit-tree', tree, '-m', 'c']);
    g(['tag', '-a', '-m', 't', 'v1', commit]);
    const tag = g(['rev-parse', 'v1']);
    const batch = new GitObjectBatch(bare);
    t.after(() => batch.close());
    const got = await Promise.all([...ids.map((id) => batch.read(id)), batch.read(`${tag}^{commit}`), batch.read('0'.repeat(40)), batch.read(ids[1]!)]);
    got.slice(0, 4).forEach((o, i) => {
      assert.equal(o?.type, 'blob');
      assert.equal(o?.oid, ids[i]);
      assert.ok(o?.content.equals(texts[i]!), `blob ${i}`);
    });
    assert.equal(got[4]?.type, 'commit');
    assert.equal(got[4]?.oid, commit);
    assert.equal(got[5], undefined);
    assert.ok(got[6]?.content.equals(texts[1]!));
    await assert.rejects(batch.read('a\nb'), { code: 'NFTSYNC_ERR_REPO_GIT_FAILED' });
  });

  test('security: a big blob is copied a few times, not once per pipe chunk (a 47 MB ruleset took 15 s of the event loop to read: every chunk copied all that came before; the server reads main\'s big rulesets at each start)', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'r.git');
    execFileSync('git', ['init', '-q', '--bare', bare]);
    const size = 16 << 20;
    const text = Buffer.alloc(size, '"198.18.0.1",\n');
    const id = execFileSync('git', ['--git-dir', bare, 'hash-object', '-w', '--stdin'], { input: text, env: testGitEnv(), encoding: 'utf8' }).trim();
    const batch = new GitObjectBatch(bare);
    t.after(() => batch.close());
    // The bytes Buffer.concat copies while the blob is read (the work, not a time).
    const concat = Buffer.concat;
    let copied = 0;
    Buffer.concat = ((list: readonly Uint8Array[], length?: number) => {
      const out = concat(list, length);
      copied += out.length;
      return out;
    }) as typeof Buffer.concat;
    let got;
    try {
      got = await batch.read(id);
    } finally {
      Buffer.concat = concat;
    }
    assert.ok(got?.content.equals(text));
    assert.ok(copied <= 2 * size, `${Math.round(copied / size)} times the blob's size copied`);
  });

  test('reads fail with NFTSYNC_ERR_REPO_GIT_FAILED when git cannot run on the directory', async (t) => {
    const batch = new GitObjectBatch(join(tempDir(t), 'not-a-repo'));
    await assert.rejects(batch.read('HEAD'), { code: 'NFTSYNC_ERR_REPO_GIT_FAILED' });
    await assert.rejects(batch.read('HEAD'), { code: 'NFTSYNC_ERR_REPO_GIT_FAILED' });
  });
});
