/**
 * cli/commands/server.ts: `nft-sync server` serves the repository over the wire protocol and
 * HTTP, logs where, stops cleanly on SIGTERM; its flags are checked before anything listens.
 * A daemon: its log lines go to stdout (the journal under systemd), its stderr stays empty.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli, type CliDaemon } from '../../../helpers/cli-process.js';
import { tempDir } from '../../../helpers/git-fixture.js';

test('server: listens (ports from the log), serves a fetch and /readyz, exits 0 on SIGTERM; bad flags exit 2 first', async (t) => {
  const bare = join(tempDir(t, 'nft-sync-server-cmd-'), 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  const server = startCli(t, ['server', '--repo', bare, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
  await server.waitFor(/"msg":"http listening"/, 20_000);
  const port = (msg: string) => {
    const line = server.stdout().split('\n').find((l) => l.includes(`"msg":"${msg}"`))!;
    return (JSON.parse(line) as { address: { port: number } }).address.port;
  };
  const fetched = await runCli(['fetch', '--server', `127.0.0.1:${port('wire protocol listening')}`, '--ref', 'main']);
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.match(fetched.stderr, /^# default at [0-9a-f]{40}/m);
  const ready = await fetch(`http://127.0.0.1:${port('http listening')}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
  assert.equal(await server.stop('SIGTERM'), 0);
  assert.match(server.stdout(), /"msg":"stopped"/);
  for (const args of [['--read-token-required'], ['--max-frame', '1'], ['--max-connections', '0'], ['--listen', 'nope']]) {
    const bad = await runCli(['server', '--repo', bare, '--listen', '127.0.0.1:0', ...args]);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
  }
});

/** Every line of `text` is a JSON object (a pino log line); returns their `msg`s. */
function logMessages(text: string): string[] {
  return text.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
}

test('server and server --mirror-of: log lines are JSON on stdout, stderr stays empty from start to SIGTERM (exit 0)', async (t) => {
  const dir = tempDir(t, 'nft-sync-server-log-');
  const bare = join(dir, 'rules.git');
  assert.equal((await runCli(['init', bare])).code, 0);
  const [port, http, rport] = [await freePort(), await freePort(), await freePort()];
  const primary = startCli(t, ['server', '--repo', bare, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--log-level', 'info']);
  await primary.waitFor(/"msg":"http listening"/, 20_000);
  const replica = startCli(t, ['server', '--repo', join(dir, 'mirror.git'), '--listen', `127.0.0.1:${rport}`, '--mirror-of', `http://127.0.0.1:${http}/git/rules.git`, '--log-level', 'info']);
  await replica.waitFor(/"msg":"wire protocol listening"/, 20_000);
  for (const p of [port, rport]) {
    const fetched = await runCli(['fetch', '--server', `127.0.0.1:${p}`, '--ref', 'main']);
    assert.equal(fetched.code, 0, fetched.stderr);
  }
  const stopped = async (name: string, d: CliDaemon) => {
    assert.equal(await d.stop('SIGTERM'), 0, `${name}: ${d.stderr()}`);
    assert.equal(d.stderr(), '', `${name}: nothing on stderr`);
    const msgs = logMessages(d.stdout());
    assert.ok(msgs.includes('wire protocol listening') && msgs.at(-1) === 'stopped', `${name}: ${msgs.join(' | ')}`);
  };
  await stopped('replica', replica);
  assert.match(replica.stdout(), /read-only replica: following the primary/);
  await stopped('primary', primary);
});
