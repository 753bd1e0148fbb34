/**
 * server/push/push-check-request.ts: the push-check socket judges only requests for its own
 * repository whose object variables point at its own objects and a git quarantine inside them;
 * everything else falls back to the hook's own process, with the reason.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePushCheckRequest } from '../../../../server/push/push-check-request.js';
import { HOOK_REQUEST_MAGIC } from '../../../../server/push/pre-receive-client.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

const request = (head: string[], body = `${'0'.repeat(40)} ${'a'.repeat(40)} refs/heads/main\n`) => Buffer.from(`${head.join('\n')}\n\n${body}`);

test('parsePushCheckRequest: a request for this repository with its quarantine is judged; the ref lines are its input', async (t) => {
  const root = tempDir(t, 'nft-sync-pcr-');
  const bare = join(root, 'rules.git');
  git(root, ['init', '-q', '--bare', bare]);
  const quarantine = join(bare, 'objects', 'tmp_objdir-incoming-AbC123');
  mkdirSync(quarantine);
  const ok = await parsePushCheckRequest(request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', `env GIT_QUARANTINE_PATH=${quarantine}`, `env GIT_OBJECT_DIRECTORY=${quarantine}`, `env GIT_ALTERNATE_OBJECT_DIRECTORIES=${join(bare, 'objects')}`]), bare);
  assert.deepEqual(ok, {
    input: `${'0'.repeat(40)} ${'a'.repeat(40)} refs/heads/main\n`,
    gitEnv: { GIT_QUARANTINE_PATH: quarantine, GIT_OBJECT_DIRECTORY: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(bare, 'objects') },
  });
  const viaLink = join(root, 'link.git');
  symlinkSync(bare, viaLink);
  assert.ok('input' in (await parsePushCheckRequest(request([HOOK_REQUEST_MAGIC, `cwd ${viaLink}`, 'dir .']), bare)), 'the same repository through a symbolic link');
});

test('parsePushCheckRequest: anything else falls back, saying why', async (t) => {
  const root = tempDir(t, 'nft-sync-pcr-');
  const bare = join(root, 'rules.git');
  const other = join(root, 'other.git');
  git(root, ['init', '-q', '--bare', bare]);
  git(root, ['init', '-q', '--bare', other]);
  const foreign = join(other, 'objects', 'tmp_objdir-incoming-AbC123');
  mkdirSync(foreign);
  const notQuarantine = join(bare, 'objects', 'pack');
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from(`${HOOK_REQUEST_MAGIC}\ncwd ${bare}\ndir .\n`), /no end of head/],
    [request(['nft-sync-check 2', `cwd ${bare}`, 'dir .']), /does not start with/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', 'shell rm -rf /']), /"shell" is not understood/],
    [request([HOOK_REQUEST_MAGIC, 'cwd relative', 'dir .']), /absolute cwd/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`]), /absolute cwd or a dir/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${other}`, 'dir .']), /another repository/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', 'env NOEQUALS']), /not NAME=VALUE/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', 'env GIT_DIR=/etc']), /GIT_DIR is not a variable the check takes/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', `env GIT_QUARANTINE_PATH=${foreign}`]), /outside this repository's objects/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', `env GIT_OBJECT_DIRECTORY=${notQuarantine}`]), /outside this repository's objects/],
    [request([HOOK_REQUEST_MAGIC, `cwd ${bare}`, 'dir .', `env GIT_ALTERNATE_OBJECT_DIRECTORIES=${join(other, 'objects')}`]), /outside/],
  ];
  for (const [req, why] of cases) {
    const r = await parsePushCheckRequest(req, bare);
    assert.ok('fallback' in r, `${req.toString().split('\n').slice(0, 4).join(' | ')}: judged`);
    assert.match(r.fallback, why);
  }
});
