/**
 * cli/commands/import.ts: `nft-sync import FILE` (as root: through a scratch namespace) prints the
 * repository's JSON form of an nft-syntax ruleset, or writes it with --output; nft's own display
 * of a bad line comes before the error line; an unreadable file is a usage error.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { tempDir } from '../../../helpers/git-fixture.js';

const RULES = 'table inet web {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 443 accept\n  }\n}\n';

test('import: JSON on stdout or in --output, the same document; a bad line shown by nft then its code (exit 1); a missing file exit 2', async (t) => {
  const dir = tempDir(t, 'nft-sync-import-');
  const file = join(dir, 'web.nft');
  writeFileSync(file, RULES);
  const printed = await runCli(['import', file]);
  assert.equal(printed.code, 0, printed.stderr);
  const doc = JSON.parse(printed.stdout) as { nftables: Array<Record<string, { name?: string; family?: string }>> };
  assert.ok(doc.nftables.some((i) => i.table?.name === 'web' && i.table.family === 'inet'));
  assert.match(printed.stdout, /"right": 443/);
  const out = join(dir, 'web.json');
  const written = await runCli(['import', file, '--output', out]);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), printed.stdout);
  writeFileSync(file, 'table inet web {\n  chain input {\n    tcp dport frobnicate accept\n  }\n}\n');
  const bad = await runCli(['import', file]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /frobnicate/);
  assert.match(bad.stderr.trim().split('\n').at(-1)!, /^nft-sync: NFTSYNC_ERR_\w+: /);
  const missing = await runCli(['import', join(dir, 'nope.nft')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /NFTSYNC_ERR_USAGE: import: cannot read/);
});
