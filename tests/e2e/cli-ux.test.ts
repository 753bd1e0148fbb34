/**
 * What an operator sees on the command line when a flag or an argument is wrong: one line
 * `nft-sync: NFTSYNC_ERR_...: message` that says what to do, never a stack trace or a message
 * meant for programmers. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli } from '../helpers/cli-process.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** Exactly one stderr line, the coded error. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

test('a mistyped flag is named with a pointer to --help (not node\'s advice about positionals)', async () => {
  const r = await runCli(['fetch', '--serv', '127.0.0.1:1', '--ref', 'main']);
  assert.equal(r.code, 2);
  assert.equal(oneLine(r.stderr), 'nft-sync: NFTSYNC_ERR_USAGE: fetch: unknown flag --serv (nft-sync fetch --help lists the flags)');
});

test('import --output into a missing directory is a usage error naming the path, not an internal error', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-ux-');
  const file = join(dir, 'web.nft');
  writeFileSync(file, 'table inet web {\n  chain input { type filter hook input priority 0; policy accept; }\n}\n');
  const r = await runCli(['import', file, '--output', join(dir, 'missing', 'web.json')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(oneLine(r.stderr), /^nft-sync: NFTSYNC_ERR_USAGE: import: cannot write --output .*missing\/web\.json: ENOENT/);
});

test('server: an --http address in use stops the whole server with one coded line (the wire listener is closed too)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-ux-');
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  const httpPort = (busy.address() as AddressInfo).port;
  const r = await runCli(['server', '--repo', repo, '--listen', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${httpPort}`], { timeoutMs: 15_000 });
  assert.equal(r.code, 1, r.stderr);
  // stderr: that one line alone (the log lines, the wire listener's among them, are on stdout).
  assert.match(r.stderr, new RegExp(`^nft-sync: NFTSYNC_ERR_CONFIG_INVALID: cannot listen on 127\\.0\\.0\\.1:${httpPort} \\(--http\\): [^\\n]*EADDRINUSE[^\\n]*\\n$`));
  assert.match(r.stdout, /"msg":"wire protocol listening"/);
});

test('--help: a flag too long for the column has its description on the next line, aligned', async () => {
  const r = await runCli(['server', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n {2}--max-connections-per-address MAX_CONNECTIONS_PER_ADDRESS\n {34}most simultaneous wire connections/);
  assert.match(r.stdout, /\n {2}--max-frame MAX_FRAME {11}largest frame/);
});
