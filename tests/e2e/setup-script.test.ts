/**
 * `bash scripts/setup.sh` leaves `nft-sync` on PATH, so the README's commands run as written in
 * a new shell. The package installs (apt-get, npm ci) are stand-ins here: they would change the
 * machine and the shared node_modules, and npm-package.test.ts covers an install from the
 * registry. Everything else runs for real: the build, the link, and the linked command in a new
 * shell whose PATH is the link's directory and the system's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);

test('scripts/setup.sh builds and links nft-sync into a directory on PATH; a new shell runs nft-sync --version', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-setup-');
  const stubs = join(dir, 'stubs');
  const bin = join(dir, 'bin');
  const realNpm = (await run('sh', ['-c', 'command -v npm'])).stdout.trim();
  // apt-get and `npm ci` record their arguments and change nothing; `npm run build` is the real one.
  writeFileSync(join(dir, 'calls'), '');
  await run('mkdir', ['-p', stubs]);
  writeFileSync(join(stubs, 'apt-get'), `#!/bin/sh\necho "apt-get $*" >> ${JSON.stringify(join(dir, 'calls'))}\n`);
  writeFileSync(join(stubs, 'npm'), `#!/bin/sh\necho "npm $*" >> ${JSON.stringify(join(dir, 'calls'))}\n[ "$1" = ci ] && exit 0\nexec ${JSON.stringify(realNpm)} "$@"\n`);
  for (const f of ['apt-get', 'npm']) chmodSync(join(stubs, f), 0o755);

  const setup = await run('bash', ['scripts/setup.sh'], { env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, NFT_SYNC_BIN_DIR: bin }, timeout: 300_000 });
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.match(setup.stdout, new RegExp(`setup\\.sh: nft-sync ${version.replaceAll('.', '\\.')} at ${bin}/nft-sync\\n$`));
  const calls = readFileSync(join(dir, 'calls'), 'utf8');
  assert.match(calls, /^apt-get install .*\bnftables git iproute2\b.*\bpython3 util-linux systemd$/m);
  assert.match(calls, /^npm ci\b/m);
  assert.match(calls, /^npm run build$/m);
  assert.equal(readlinkSync(join(bin, 'nft-sync')), resolve('dist/cli/main.js'), 'a link to this checkout: a rebuild is picked up at once');

  // A new shell, as an operator opens one: nothing but the link's directory and the system's.
  const shell = await run('bash', ['-c', 'nft-sync --version && nft-sync status --help | head -n 1'], { env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir } });
  assert.equal(shell.stdout, `nft-sync ${version}\nusage: nft-sync status [flags]\n`);
});
