/**
 * The pre-receive hand-off: the repository's hook (a small Perl client) hands the check to the
 * running server over GIT_DIR/nft-sync/hook.sock, and validates in its own process whenever the
 * server cannot or will not answer. Real git pushes, the real hook, real nft in scratch
 * namespaces; the "fake server" tests put a stand-in on the socket to play a server that fails.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { PushCheckService } from '../../../../server/push/push-check-service.js';
import { installPreReceiveHook } from '../../../../server/push/pre-receive-hook.js';
import { HOOK_REQUEST_MAX } from '../../../../server/push/pre-receive-client.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { waitUntil } from '../../../helpers/wait-for.js';

interface Push {
  code: number;
  /** The `remote: nft-sync: ...` lines, trimmed, with timings replaced by `N`. */
  lines: string[];
  stderr: string;
}

/** `git push` over a file path, without blocking this process (the server runs in it). */
function push(f: ServerFixture, refspec = 'HEAD:main'): Promise<Push> {
  return new Promise((resolve) =>
    execFile('git', ['push', f.bare, refspec], { cwd: f.clone, env: testGitEnv(), encoding: 'utf8' }, (err, _o, stderr) =>
      resolve({
        code: err ? 1 : 0,
        stderr,
        lines: stderr
          .split('\n')
          .filter((l) => l.startsWith('remote: nft-sync:'))
          .map((l) => l.trim().replace(/\(\d+ ms\)/, '(N ms)')),
      }),
    ),
  );
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withRule = (expr: unknown[]) => {
  const r = JSON.parse(DEFAULT) as { nftables: unknown[] };
  r.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr } });
  return JSON.stringify(r, null, 2);
};
/** Bad pushes of every kind the validator finds, as files to commit. */
const BAD: Array<[string, Record<string, string>]> = [
  ['broken JSON', { 'rulesets/default.json': '{"nftables": [\n  {"table": }\n]}\n' }],
  ['a schema error', { 'rulesets/default.json': '{"nftables": [{"table": {"family": "inet"}}]}' }],
  ['an nft error', { 'rulesets/default.json': withRule([{ jump: { target: 'nowhere' } }]) }],
  ['a bad nft-sync.yaml', { 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    rulset: web\n' }],
];

async function hookFixture(t: TestContext): Promise<ServerFixture> {
  const f = await startServerFixture(t, { installHook: true });
  assert.ok(f.server.pushChecks, 'the server offers the hand-off');
  return f;
}

describe('pre-receive checks handed to the server', () => {
  test('a bad push is refused through the server with the very lines the hook\'s own validator prints; a good push passes; the server judged each', async (t) => {
    const f = await hookFixture(t);
    const before = f.git(['rev-parse', 'main'], f.bare);
    const viaServer: string[][] = [];
    const commits: string[] = [];
    for (const [what, files] of BAD) {
      f.git(['reset', '-q', '--hard', before]);
      commits.push(f.commit(files, what));
      const judged = f.server.pushChecks!.judged;
      const r = await push(f);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(f.server.pushChecks!.judged, judged + 1, `${what}: judged by the server`);
      assert.match(r.stderr, /pre-receive hook declined/);
      assert.match(r.lines.at(-1)!, /^remote: nft-sync: NFTSYNC_ERR_PUSH_REFUSED: push refused, 1 problem\(s\); nothing was changed$/);
      viaServer.push(r.lines);
    }
    assert.equal(f.git(['rev-parse', 'main'], f.bare), before);
    // The same pushes with no server: the hook validates in its own process, silently.
    await f.stop();
    BAD.forEach(([what], i) => {
      f.git(['reset', '-q', '--hard', commits[i]!]);
      const r = spawnSync('git', ['push', f.bare, 'HEAD:main'], { cwd: f.clone, env: testGitEnv(), encoding: 'utf8' });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('remote: nft-sync:')).map((l) => l.trim().replace(/\(\d+ ms\)/, '(N ms)'));
      assert.equal(r.status, 1);
      assert.deepEqual(lines, viaServer[i], `${what}: the same lines both ways`);
    });
    await f.restart();
    f.git(['reset', '-q', '--hard', before]);
    const good = f.commit({ 'rulesets/default.json': withRule([{ accept: null }]) });
    const judged = f.server.pushChecks!.judged;
    const ok = await push(f);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.lines, ['remote: nft-sync: 1 ruleset(s) valid, loaded and read back in a scratch namespace (N ms)']);
    assert.equal(f.server.pushChecks!.judged, judged + 1);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), good);
  });

  test('one scratch namespace is kept warm between checks and none is left once the server stops', async (t) => {
    const f = await hookFixture(t);
    const mine = () => namespaces().filter((n) => n.startsWith(`nfts-check-${process.pid}-`));
    for (const port of [1001, 1002, 1003]) {
      f.commit({ 'rulesets/default.json': withRule([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, { accept: null }]) });
      const r = await push(f);
      assert.equal(r.code, 0, r.stderr);
    }
    // A check that overlapped a flush may have had a second one, removed in the background.
    await waitUntil('one warm namespace, reused', () => mine().length === 1, 10_000);
    await f.stop();
    assert.deepEqual(mine(), []);
  });

  test('namespaces left by a server that was killed are removed by the next one', async (t) => {
    const dead = spawnSync('true').pid!; // a pid that no longer runs
    const stale = `nfts-check-${dead}-abcdef`;
    execFileSync('ip', ['netns', 'add', stale]);
    t.after(() => spawnSync('ip', ['netns', 'delete', stale]));
    const f = await hookFixture(t);
    f.commit({ 'notes.txt': 'x\n', 'rulesets/default.json': withRule([{ accept: null }]) });
    assert.equal((await push(f)).code, 0);
    assert.ok(!namespaces().includes(stale));
  });
});

describe('the hook validates by itself when the server cannot answer', () => {
  /** A repository with the hook and a stand-in on its socket that answers with `answer`. */
  async function fakeServer(t: TestContext, answer: (s: net.Socket) => void): Promise<ServerFixture> {
    const f = await startServerFixture(t, { installHook: false });
    await f.stop();
    await installPreReceiveHook(f.bare);
    const dir = join(f.bare, 'nft-sync');
    // The server may have made it already (rollout state lives there too).
    mkdirSync(dir, { mode: 0o700, recursive: true });
    chmodSync(dir, 0o700);
    const fake = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.resume();
      s.once('end', () => answer(s));
    });
    await new Promise<void>((r) => fake.listen(join(dir, 'hook.sock'), () => r()));
    t.after(() => new Promise<void>((r) => fake.close(() => r())));
    return f;
  }

  for (const [what, answer, note] of [
    ['closes without a verdict', (s: net.Socket) => s.end('say nft-sync: looking\n'), /the connection ended before a verdict/],
    ['declines the check', (s: net.Socket) => s.end('fallback the server is stopping\n'), /the server is stopping/],
  ] as const) {
    test(`a server that ${what} (fake server): the push is still judged, and a bad one refused with the usual lines`, async (t) => {
      const f = await fakeServer(t, answer);
      const before = f.git(['rev-parse', 'main'], f.bare);
      f.commit(BAD[1]![1]);
      const r = await push(f);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`remote: nft-sync: the server did not take the check \\(.*${note.source}.*\\); checking here`));
      assert.match(r.stderr, /remote: nft-sync: refs\/heads\/main [0-9a-f]{12}: rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA/);
      assert.equal(f.git(['rev-parse', 'main'], f.bare), before);
    });
  }

  test('a socket directory open to other users is not trusted: the hook validates by itself', async (t) => {
    const f = await hookFixture(t);
    chmodSync(join(f.bare, 'nft-sync'), 0o755);
    f.commit(BAD[1]![1]);
    const r = await push(f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NFTSYNC_ERR_RULESET_SCHEMA/);
    assert.equal(f.server.pushChecks!.judged, 0);
  });

  test('another user\'s hook cannot reach the socket and validates by itself', async (t) => {
    const f = await hookFixture(t);
    execFileSync('chmod', ['-R', 'a+rX', f.dir]);
    chmodSync(join(f.bare, 'nft-sync'), 0o700);
    const bad = f.commit(BAD[1]![1]);
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'env', 'HOME=/tmp', 'GIT_DIR=.', './hooks/pre-receive'], {
      cwd: f.bare,
      input: `${f.git(['rev-parse', 'main'], f.bare)} ${bad} refs/heads/main\n`,
      encoding: 'utf8',
      env: { ...process.env, GIT_OBJECT_DIRECTORY: join(f.clone, '.git', 'objects') },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /NFTSYNC_ERR_RULESET_SCHEMA/);
    assert.equal(f.server.pushChecks!.judged, 0);
  });
});

describe('what the socket accepts', () => {
  /** Send `request` to the service's socket; resolves with everything it answers. */
  function ask(path: string, request: string | Buffer, end = true): Promise<string> {
    return new Promise((resolve) => {
      const s = net.connect(path);
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('error', () => undefined);
      s.on('close', () => resolve(got));
      s.on('connect', () => (end ? s.end(request) : s.write(request)));
    });
  }

  test('only the server user reaches it (0700 directory, 0600 socket), and it judges only this repository\'s own quarantine', async (t) => {
    const f = await startServerFixture(t, { installHook: false });
    const service = (await PushCheckService.start({ gitdir: f.bare, logger: quietLogger, requestTimeoutMs: 500 }))!;
    t.after(() => service.close());
    assert.equal(statSync(join(f.bare, 'nft-sync')).mode & 0o777, 0o700);
    assert.equal(statSync(service.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(service.socketPath).uid, process.getuid!());
    const objects = join(f.bare, 'objects');
    const quarantine = join(objects, 'tmp_objdir-incoming-AbCdEf');
    mkdirSync(quarantine);
    const other = join(f.dir, 'other.git');
    execFileSync('git', ['init', '-q', '--bare', other]);
    mkdirSync(join(other, 'objects', 'tmp_objdir-incoming-AbCdEf'));
    const head = (lines: string[]) => `nft-sync-check 1\ncwd ${f.bare}\n${lines.join('\n')}\n\n`;
    const refused: Array<[string, string]> = [
      [head(['dir .', `env GIT_OBJECT_DIRECTORY=${join(other, 'objects', 'tmp_objdir-incoming-AbCdEf')}`]), 'GIT_OBJECT_DIRECTORY is outside this repository\'s objects'],
      [head(['dir .', `env GIT_QUARANTINE_PATH=${objects}`]), 'GIT_QUARANTINE_PATH is outside'],
      [head(['dir .', `env GIT_OBJECT_DIRECTORY=${quarantine}/../../../other.git/objects/tmp_objdir-incoming-AbCdEf`]), 'outside'],
      [head(['dir .', 'env GIT_ALTERNATE_OBJECT_DIRECTORIES=/etc']), 'GIT_ALTERNATE_OBJECT_DIRECTORIES is outside'],
      [head(['dir .', `env GIT_ALTERNATE_OBJECT_DIRECTORIES=${objects}:/etc`]), 'GIT_ALTERNATE_OBJECT_DIRECTORIES is outside'],
      [head(['dir .', `env GIT_OBJECT_DIRECTORY=tmp_objdir-incoming-AbCdEf`]), 'outside'],
      [head(['dir .', 'env GIT_CONFIG_PARAMETERS=\'core.fsmonitor\'=\'touch /tmp/x\'']), 'GIT_CONFIG_PARAMETERS is not a variable the check takes'],
      [head(['dir .', 'env GIT_DIR=/etc']), 'not a variable'],
      [head([`dir ${other}`]), 'another repository'],
      [head(['dir .', 'exec /bin/sh']), 'not understood'],
      ['nft-sync-check 2\ncwd /\ndir .\n\n', 'does not start with'],
      ['{"v":1}\n', 'no end of head'],
    ];
    for (const [request, why] of refused) {
      const got = await ask(service.socketPath, request);
      assert.ok(got.startsWith('fallback ') && got.includes(why), `${JSON.stringify(request)} -> ${JSON.stringify(got)}`);
    }
    const big = await ask(service.socketPath, Buffer.alloc(HOOK_REQUEST_MAX + 1, 'a'));
    assert.match(big, /^fallback the request is larger than/);
    const t0 = Date.now();
    assert.equal(await ask(service.socketPath, head(['dir .']), false), '', 'a request never finished is dropped');
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(service.judged, 0);
    // The repository's own quarantine (empty here) is taken: a push with no refs passes.
    // `wait` heartbeats (every HOOK_HEARTBEAT_MS while the check runs) may come first on a busy machine.
    const answer = await ask(service.socketPath, `${head(['dir .', `env GIT_OBJECT_DIRECTORY=${quarantine}`, `env GIT_QUARANTINE_PATH=${quarantine}`, `env GIT_ALTERNATE_OBJECT_DIRECTORIES=${objects}`])}`);
    assert.equal(answer.replace(/^(wait\n)*/, ''), 'exit 0\n');
    assert.equal(service.judged, 1);
  });
});

test('a push that changes no ruleset is judged by the server and passes silently', async (t) => {
  const f = await hookFixture(t);
  f.commit({ 'notes.txt': 'no rulesets changed\n' });
  const r = await push(f);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('remote:') && l.slice(7).trim() !== ''), [], 'the hook says nothing when no ruleset changed');
  assert.equal(f.server.pushChecks!.judged, 1);
});
