/** cli/commands/pki.ts: `nft-sync pki init|issue` makes a CA and certificates that name their holder. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

test('pki init, issue for an agent and a server; usage errors exit 2 with NFTSYNC_ERR_USAGE', async (t) => {
  const dir = join(makeTempDir(t, 'nft-sync-pki-'), 'pki');
  const init = await runCli(['pki', 'init', '--dir', dir]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /^CA .*ca\.crt \(key .*ca\.key\)\n$/);
  const agent = await runCli(['pki', 'issue', '--dir', dir, '--name', 'web-1']);
  assert.equal(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, /^issued .*web-1\.crt \(key .*web-1\.key\)\n$/);
  const server = await runCli(['pki', 'issue', '--dir', dir, '--name', '127.0.0.1', '--server']);
  assert.equal(server.code, 0, server.stderr);
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
  const web = new X509Certificate(readFileSync(join(dir, 'web-1.crt')));
  assert.match(web.subject, /CN=web-1/);
  assert.ok(web.verify(ca.publicKey), 'signed by the CA');
  assert.match(new X509Certificate(readFileSync(join(dir, '127.0.0.1.crt'))).subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  for (const args of [['pki', 'issue', '--dir', dir], ['pki', 'renew', '--dir', dir]]) {
    const bad = await runCli(args);
    assert.equal(bad.code, 2, args.join(' '));
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
});
