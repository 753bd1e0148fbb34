/** server/git/read-refs.ts: refs read straight from a git directory, loose over packed, symbolic refs followed. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePackedRefs, readAllRefs, readPackedRefs, readRef } from '../../../../server/git/read-refs.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('parsePackedRefs: OID NAME lines with their ^PEELED; comments, junk and names outside refs/ skipped', () => {
  const refs = parsePackedRefs(`# pack-refs with: peeled fully-peeled sorted\n${A} refs/heads/main\n${B} refs/tags/v1\n^${A}\nnot-an-oid refs/heads/x\n${A} HEAD\n^${B}\n${'c'.repeat(64)} refs/tags/sha256\n`);
  assert.deepEqual([...refs], [['refs/heads/main', { oid: A }], ['refs/tags/v1', { oid: B, peeled: A }], ['refs/tags/sha256', { oid: 'c'.repeat(64) }]]);
});

test('readRef, readAllRefs and readPackedRefs on a real repository: loose over packed, HEAD followed, annotated tags peeled when packed', async (t) => {
  const dir = tempDir(t, 'nft-sync-refs-');
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'one']);
  const one = git(dir, ['rev-parse', 'HEAD']);
  git(dir, ['tag', '-a', '-m', 'release', 'v1']);
  const tagObject = git(dir, ['rev-parse', 'v1']);
  const gitdir = join(dir, '.git');
  assert.deepEqual(await readRef(gitdir, 'HEAD'), { oid: one }, 'HEAD: ref: refs/heads/main followed');
  assert.deepEqual(await readRef(gitdir, 'refs/tags/v1'), { oid: tagObject });
  git(dir, ['pack-refs', '--all']);
  assert.deepEqual(await readRef(gitdir, 'refs/tags/v1'), { oid: tagObject, peeled: one }, 'packed: git records the peeled commit');
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'two']);
  const two = git(dir, ['rev-parse', 'HEAD']);
  assert.deepEqual(await readRef(gitdir, 'refs/heads/main'), { oid: two }, 'the loose ref overrides the packed one');
  assert.deepEqual([...(await readAllRefs(gitdir))], [['refs/heads/main', { oid: two }], ['refs/tags/v1', { oid: tagObject, peeled: one }]]);
  assert.equal(await readRef(gitdir, 'refs/heads/nope'), undefined);
  writeFileSync(join(gitdir, 'refs', 'heads', 'loop'), 'ref: refs/heads/loop\n');
  assert.equal(await readRef(gitdir, 'refs/heads/loop'), undefined, 'a symbolic ref loop ends');
  writeFileSync(join(gitdir, 'refs', 'heads', 'escape'), 'ref: refs/../../x\n');
  assert.equal(await readRef(gitdir, 'refs/heads/escape'), undefined, 'a target outside refs/ is not followed');
  assert.deepEqual([...(await readAllRefs(gitdir, ['refs/tags/']))].map(([n]) => n), ['refs/tags/v1']);
  assert.deepEqual(await readPackedRefs(join(dir, 'no-such-dir')), new Map());
});

test('a ref or packed-refs that is a FIFO (a hostile repository on disk) is not a ref: read without blocking (the event loop, or a thread of the pool, forever)', async (t) => {
  const dir = tempDir(t, 'nft-sync-refs-');
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'one']);
  const gitdir = join(dir, '.git');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [join(gitdir, 'refs/heads/fifo'), join(gitdir, 'packed-refs')]);
  // In a child process, bounded: blocking would hang this test runner itself.
  const module = new URL('../../../../server/git/read-refs.ts', import.meta.url).pathname;
  const script = `import { readRef, readAllRefs } from ${JSON.stringify(module)};
const one = await readRef(${JSON.stringify(gitdir)}, 'refs/heads/fifo');
const other = await readRef(${JSON.stringify(gitdir)}, 'refs/heads/nothing');
const all = await readAllRefs(${JSON.stringify(gitdir)});
process.stdout.write(JSON.stringify({ one: one ?? null, other: other ?? null, all: [...all.keys()] }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.deepEqual(JSON.parse(out), { one: null, other: null, all: ['refs/heads/main'] });
});
