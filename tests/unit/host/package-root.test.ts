/** host/package-root.ts: the folder of nft-sync's own package.json, and its version. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot, packageVersion } from '../../../host/package-root.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

test('packageRoot is the folder holding nft-sync\'s package.json (and repo-template/), packageVersion its version', () => {
  assert.equal(packageRoot(), repoRoot);
  assert.ok(existsSync(join(packageRoot(), 'repo-template')), 'the CLI finds repo-template/ there');
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  assert.equal(pkg.name, 'nft-sync');
  assert.equal(packageVersion(), pkg.version);
});
