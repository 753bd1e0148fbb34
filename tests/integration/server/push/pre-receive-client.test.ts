/**
 * The Perl hook client on its own (a stand-in server on the socket): it reaches the socket with
 * perl's builtins and loads no module on a hand-off, since every push waits for its start
 * (the Socket module alone cost about 30 ms on a loaded host).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOOK_SOCKET_DIR, HOOK_SOCKET_NAME, perlHookScript } from '../../../../server/push/pre-receive-client.js';
import { tempDir } from '../../../helpers/git-fixture.js';

test('a hand-off connects with perl builtins and loads no module (no Socket, no warnings)', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, HOOK_SOCKET_DIR), { mode: 0o700 });
  let request = '';
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (c) => (request += c));
    s.on('end', () => s.end('say judged by the stand-in\nexit 0\n'));
  });
  await new Promise<void>((resolve) => server.listen(join(dir, HOOK_SOCKET_DIR, HOOK_SOCKET_NAME), resolve));
  t.after(() => server.close());
  const hook = join(dir, 'pre-receive');
  writeFileSync(hook, perlHookScript('/usr/bin/perl', '# test', ['/bin/false']));
  // END runs at the hook's exit: what perl had loaded by then.
  const child = spawn('perl', ['-e', `END { print STDERR "INC ", join(",", sort keys %INC), "\\n" } do ${JSON.stringify(hook)}; die $@ if $@;`], {
    env: { ...process.env, GIT_DIR: dir },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  child.stdin.end(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/main\n`);
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /judged by the stand-in/);
  assert.match(request, /refs\/heads\/main/);
  const loaded = /^INC (.*)$/m.exec(stderr)?.[1]?.split(',').filter((m) => m !== '' && m !== hook) ?? [];
  assert.deepEqual(loaded.filter((m) => m !== 'strict.pm'), [], `modules loaded: ${loaded.join(', ')}`);
});
