/**
 * cli/commands/server.ts: `nft-sync server` serves the repository over the wire protocol and
 * HTTP, logs where, stops cleanly on SIGTERM; its flags are checked before anything listens.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli } from '../../../helpers/cli-process.js';
import { tempDir } from '../../../helpers/git-fixture.js';

test('server: listens (ports from the log), serves a fetch and /readyz, exits 0 on SIGTERM; bad flags exit 2 first', async (t) => {
  const bare = join(tempDir(t, 'nft-sync-server-cmd-'), 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  const server = startCli(t, ['server', '--repo', bare, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
  await server.waitFor(/"msg":"http listening"/, 20_000);
  const port = (msg: string) => {
    const line = server.stderr().split('\n').find((l) => l.includes(`"msg":"${msg}"`))!;
    return (JSON.parse(line) as { address: { port: number } }).address.port;
  };
  const fetched = await runCli(['fetch', '--server', `127.0.0.1:${port('wire protocol listening')}`, '--ref', 'main']);
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.match(fetched.stderr, /^# default at [0-9a-f]{40}/m);
  const ready = await fetch(`http://127.0.0.1:${port('http listening')}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
  assert.equal(await server.stop('SIGTERM'), 0);
  assert.match(server.stderr(), /"msg":"stopped"/);
  for (const args of [['--read-token-required'], ['--max-frame', '1'], ['--max-connections', '0'], ['--listen', 'nope']]) {
    const bad = await runCli(['server', '--repo', bare, '--listen', '127.0.0.1:0', ...args]);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
});
