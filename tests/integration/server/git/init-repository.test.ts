import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initRepository } from '../../../../server/git/init-repository.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { expectCode } from '../../../helpers/expect-code.js';

function makeTemplate(root: string): string {
  const dir = join(root, 'template');
  mkdirSync(join(dir, 'rulesets'), { recursive: true });
  writeFileSync(join(dir, 'README.md'), '# rules\n');
  writeFileSync(join(dir, 'nft-sync.yaml'), 'version: 1\n');
  writeFileSync(join(dir, 'rulesets', 'default.json'), '{"nftables": []}\n');
  writeFileSync(join(dir, 'check.sh'), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

/** Run `work` with no global or system git config and no identity in the environment. */
async function withoutGitIdentity<T>(work: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('GIT_')) delete process.env[k];
  process.env.GIT_CONFIG_GLOBAL = '/dev/null';
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  try {
    return await work();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}


describe('initRepository', () => {
  it('creates a bare repository with one commit on main holding the template, without a git identity', async (t) => {
    const root = tempDir(t);
    const template = makeTemplate(root);
    const repo = join(root, 'rules.git');
    const { commit } = await withoutGitIdentity(() => initRepository(repo, template));
    assert.match(commit, /^[0-9a-f]{40}$/);
    assert.equal(git(repo, ['rev-parse', '--is-bare-repository']), 'true');
    assert.equal(git(repo, ['symbolic-ref', 'HEAD']), 'refs/heads/main');
    assert.equal(git(repo, ['rev-parse', 'main']), commit);
    assert.equal(git(repo, ['rev-list', '--count', 'main']), '1');
    assert.equal(git(repo, ['for-each-ref', '--format=%(refname)']), 'refs/heads/main');
    assert.deepEqual(git(repo, ['ls-tree', '-r', '--name-only', 'main']).split('\n'), ['README.md', 'check.sh', 'nft-sync.yaml', 'rulesets/default.json']);
    assert.match(git(repo, ['ls-tree', 'main', 'check.sh']), /^100755 /);
    assert.equal(git(repo, ['show', 'main:rulesets/default.json']), '{"nftables": []}');
    assert.equal(git(repo, ['log', '-1', '--format=%an <%ae>|%cn <%ce>', 'main']), 'nft-sync <nft-sync@localhost>|nft-sync <nft-sync@localhost>');
    assert.equal(git(repo, ['config', 'receive.denyNonFastForwards']), 'true');
    assert.equal(git(repo, ['fsck', '--strict']), '');
    // Nothing but the repository is left in the parent directory.
    assert.deepEqual(readdirSync(root).sort(), ['rules.git', 'template']);
  });

  it('uses the configured identity when there is one', async (t) => {
    const root = tempDir(t);
    const repo = join(root, 'r.git');
    const saved = { ...process.env };
    t.after(() => Object.assign(process.env, saved));
    process.env.GIT_AUTHOR_NAME = 'Alice';
    process.env.GIT_AUTHOR_EMAIL = 'alice@example.invalid';
    await initRepository(repo, makeTemplate(root));
    assert.equal(git(repo, ['log', '-1', '--format=%an <%ae>', 'main']), 'Alice <alice@example.invalid>');
  });

  it('accepts an existing empty directory and refuses a non-empty one or a file', async (t) => {
    const root = tempDir(t);
    const template = makeTemplate(root);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await initRepository(empty, template);
    assert.equal(git(empty, ['rev-list', '--count', 'main']), '1');
    await expectCode(initRepository(empty, template), 'NFTSYNC_ERR_REPO_EXISTS');
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    await expectCode(initRepository(file, template), 'NFTSYNC_ERR_REPO_EXISTS');
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });

  it('refuses a missing template or one with a symlink, leaving nothing behind', async (t) => {
    const root = tempDir(t);
    await expectCode(initRepository(join(root, 'a.git'), join(root, 'nope')), 'NFTSYNC_ERR_REPO_TEMPLATE_INVALID');
    const template = makeTemplate(root);
    symlinkSync('/etc/passwd', join(template, 'rulesets', 'evil.json'));
    await expectCode(initRepository(join(root, 'b.git'), template), 'NFTSYNC_ERR_REPO_TEMPLATE_INVALID');
    assert.deepEqual(readdirSync(root).sort(), ['template']);
  });

  it('installs hooks given to it, executable', async (t) => {
    const root = tempDir(t);
    const repo = join(root, 'h.git');
    await initRepository(repo, makeTemplate(root), { hooks: { 'pre-receive': '#!/bin/sh\nexit 0\n' } });
    assert.ok((statSync(join(repo, 'hooks', 'pre-receive')).mode & 0o111) !== 0);
  });

  it('initialises from the project repo-template', async (t) => {
    const root = tempDir(t);
    const repo = join(root, 'rules.git');
    await initRepository(repo, new URL('../../../../repo-template', import.meta.url).pathname);
    assert.match(git(repo, ['ls-tree', '-r', '--name-only', 'main']), /nft-sync\.yaml/);
  });
});
