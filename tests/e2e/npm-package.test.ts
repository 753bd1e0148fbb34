/**
 * nft-sync installs like any npm package: `npm pack`, then `npm install -g` of the tarball into a
 * throwaway prefix; the installed `nft-sync` answers --version and makes a repository (init
 * reads repo-template/, which must be in the tarball), and everything the CLI loads at run time
 * is in the package ("files" in package.json). Uses the npm registry (or its cache) for the
 * dependencies, as any install does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);

test('npm pack, npm install -g of the tarball into a prefix: nft-sync --version, --help of every command, init (nothing on stderr)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-pkg-');
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const npmEnv = { ...process.env, npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? dir, '.npm'), npm_config_update_notifier: 'false' };
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], { env: npmEnv, maxBuffer: 1 << 24, timeout: 180_000 });
  const tarball = join(dir, packed.stdout.trim().split('\n').at(-1)!);
  const { stdout: listing } = await run('tar', ['-tzf', tarball]);
  const files = listing.split('\n');
  for (const f of ['package/dist/cli/main.js', 'package/dist/cli/hook-main.js', 'package/dist/host/nft-runner.js', 'package/dist/server/push/push-check-worker.js', 'package/repo-template/rulesets/default.json', 'package/repo-template/nft-sync.yaml', 'package/README.md']) {
    assert.ok(files.includes(f), `${f} missing from the tarball`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/tests/') || f.endsWith('.ts')), 'no tests or sources in the tarball');

  const prefix = join(dir, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { env: npmEnv, maxBuffer: 1 << 24, timeout: 300_000 });
  const bin = join(prefix, 'bin', 'nft-sync');
  const env = { PATH: `${join(prefix, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir };
  assert.equal((await run(bin, ['--version'], { env })).stdout, `nft-sync ${version}\n`);
  for (const cmd of ['init', 'server', 'fetch', 'pull', 'agent', 'rollback', 'set', 'status', 'pki', 'import', 'hook']) {
    const help = await run(bin, [cmd, '--help'], { env });
    assert.match(help.stdout, new RegExp(`^usage: nft-sync ${cmd}`), cmd);
  }
  const init = await run(bin, ['init', join(dir, 'rules.git')], { env });
  assert.match(init.stdout, /^initialised .*rules\.git at [0-9a-f]{40} \(branch main\)\n$/);
  // The dependencies npm resolves today (not package-lock's): simple-git 4.1 warns on stderr for
  // each config key it does not list as safe unless the caller names it (allowConfig).
  assert.equal(init.stderr, '', 'init prints nothing on stderr');
  const { stdout: hook } = await run('cat', [join(dir, 'rules.git', 'hooks', 'pre-receive')]);
  assert.match(hook, new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/lib/node_modules/nft-sync/dist/cli/hook-main\\.js`), 'the hook runs the installed package');
});
