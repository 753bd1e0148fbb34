/**
 * Rolling back a fleet that follows releases: `nft-sync rollback --track-tags PATTERN --to TAG`
 * publishes the next patch version with the rulesets of TAG (a new commit on the release branch
 * and an annotated tag), through git over HTTP with the token; agents following the pattern
 * move to it. For signed releases it signs with --sign-key, or prints the exact commands to do
 * it by hand (run here as printed). Real server, git, ssh signatures, nft in namespaces.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test, type TestContext } from 'node:test';
import { runAgentDaemon } from '../../agent/agent-daemon.js';
import { createNftRunner } from '../../host/nft-runner.js';
import type { ReconcileOutcome } from '../../agent/reconcile/reconciler.js';
import { parseTokenList } from '../../shared/config/token-list.js';
import { runCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns } from '../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../helpers/server-fixture.js';
import { makeSigner, tag, type Signer } from '../helpers/signing-fixture.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const TOKEN = 'release-token-0123456789abcdef';
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);

function tmp(t: TestContext, prefix = 'nft-sync-rel-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function setup(t: TestContext, allowedSigners?: string) {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} ops\n`) });
  const url = `http://127.0.0.1:${fx.server.httpAddress!.port}`;
  const ns = createNetns(t, 'rel');
  const release = (name: string, port: number, by: Signer | null) => {
    // Start from the server's main: a rollback may have added a commit there.
    fx.git(['fetch', '-q', 'origin']);
    fx.git(['reset', '-q', '--hard', 'origin/main']);
    const commit = fx.commit({ 'rulesets/default.json': withPort(port) }, `port ${port}`);
    tag(fx.clone, name, by ?? undefined);
    fx.git(['push', '-q', 'origin', 'HEAD:main', `refs/tags/${name}`]);
    return commit;
  };
  const applied = new Set<string>();
  let wake = () => {};
  const ac = new AbortController();
  const done = runAgentDaemon(
    {
      host: fx.host, port: fx.port, agent: 'host-1', ref: 'v*', track: true, nft: createNftRunner(ns.nftCommand), stateDir: tmp(t, 'nft-sync-state-'),
      logger: quietLogger, allowedSigners, watchDrift: false,
      onOutcome: (o: ReconcileOutcome) => (o.kind === 'applied' && applied.add(o.commit), wake()),
    },
    ac.signal,
  );
  t.after(async () => (ac.abort(), await done));
  const appliedCommit = async (commit: string) => {
    const deadline = Date.now() + 10_000;
    while (!applied.has(commit)) {
      assert.ok(Date.now() < deadline, `the agent did not apply ${commit}`);
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 200)));
    }
  };
  const rollback = (args: string[], token: string | null = TOKEN) =>
    runCli(['rollback', '--http', url, ...args], { env: { ...testGitEnv(), NFT_SYNC_TOKEN: token ?? '' }, timeoutMs: 60_000 });
  return { fx, url, ns, release, appliedCommit, rollback, inForcePort: () => Number(/tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']))?.[1]) };
}

const bareGit = (fx: ServerFixture, args: string[]) => fx.git(args, fx.bare);

test('rollback --track-tags publishes the next patch release with the old rulesets; the fleet follows; again is a no-op (exit 0)', async (t) => {
  const s = await setup(t);
  const v100 = s.release('v1.0.0', 2601, null);
  const v110 = s.release('v1.1.0', 2602, null);
  await s.appliedCommit(v110);

  const anonymous = await s.rollback(['--track-tags', 'v*', '--to', 'v1.0.0'], null);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /^nft-sync: NFTSYNC_ERR_AUTH_REQUIRED: /);

  const r = await s.rollback(['--track-tags', 'v*', '--to', 'v1.0.0']);
  assert.equal(r.code, 0, r.stderr);
  const [name, commit] = r.stdout.trim().split(' ');
  assert.equal(name, 'v1.1.1');
  assert.match(commit!, /^[0-9a-f]{40}$/);
  assert.match(r.stderr, /^# v1\.1\.1 on main: the rulesets of v1\.0\.0; the highest release was v1\.1\.0\n$/);
  await s.appliedCommit(commit!);
  assert.equal(s.inForcePort(), 2601);
  // A new commit on main (history kept), with v1.0.0's rulesets, under an annotated tag.
  assert.equal(bareGit(s.fx, ['rev-parse', 'main']), commit);
  assert.equal(bareGit(s.fx, ['rev-parse', `${commit}^`]), v110);
  assert.equal(bareGit(s.fx, ['rev-parse', `${commit}:rulesets`]), bareGit(s.fx, ['rev-parse', `${v100}:rulesets`]));
  assert.equal(bareGit(s.fx, ['cat-file', '-t', 'refs/tags/v1.1.1']), 'tag');
  assert.match(bareGit(s.fx, ['log', '-1', '--format=%B', commit!]), /^Roll back rulesets to v1\.0\.0 /);

  const again = await s.rollback(['--track-tags', 'v*', '--to', 'v1.0.0']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `v1.1.1 ${commit}\n`);
  assert.equal(again.stderr, 'nft-sync: nothing to roll back: v1.1.1, the highest release matching v*, already has the rulesets and nft-sync.yaml of v1.0.0\n');
  assert.equal(bareGit(s.fx, ['tag', '-l', 'v*']).split('\n').length, 3, 'no new tag');

  // The branch form: a rollback that changes nothing exits 0 too, and says so.
  const branch = await s.rollback(['--branch', 'main', '--to', 'v1.0.0']);
  assert.equal(branch.code, 0, branch.stderr);
  assert.equal(branch.stdout, `${commit}\n`);
  assert.match(branch.stderr, /^nft-sync: nothing to roll back: branch main \([0-9a-f]{12}\) already has the rulesets and nft-sync\.yaml of v1\.0\.0/);
});

test('signed releases: without --sign-key nothing is published and the exact commands are printed; they work, and so does --sign-key', async (t) => {
  const keys = tmp(t, 'nft-sync-keys-');
  const signer = makeSigner(keys, 'release');
  const s = await setup(t, signer.allowedSigners);
  s.release('v1.0.0', 2701, signer);
  const v110 = s.release('v1.1.0', 2702, signer);
  await s.appliedCommit(v110);

  const unsigned = await s.rollback(['--track-tags', 'v*', '--to', 'v1.0.0']);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /^nft-sync: NFTSYNC_ERR_ROLLBACK_UNSIGNED: releases matching v\* are signed \(v1\.1\.0 is\) .*nothing was published/);
  assert.doesNotMatch(bareGit(s.fx, ['tag', '-l']), /v1\.1\.1/);
  const commands = unsigned.stdout.trim().split('\n');
  assert.match(commands.at(-2)!, /^git -c gpg\.format=ssh -c user\.signingkey=KEY tag -s 'v1\.1\.1' -m /);
  // Run them as printed, with KEY replaced by the signing key; the token as git over HTTP takes it.
  const work = tmp(t);
  const script = commands.join('\n').replaceAll('user.signingkey=KEY', `user.signingkey=${signer.key}`);
  const auth = Buffer.from(`ops:${TOKEN}`).toString('base64');
  // Asynchronously: the server runs in this process and must answer git meanwhile.
  await promisify(execFile)('bash', ['-euc', script], {
    cwd: work,
    env: { ...testGitEnv(), GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${auth}` },
    timeout: 60_000,
  });
  const byHand = bareGit(s.fx, ['rev-parse', 'v1.1.1^{commit}']);
  await s.appliedCommit(byHand);
  assert.equal(s.inForcePort(), 2701);

  // A new signed release, then a rollback signed by the CLI itself.
  const v120 = s.release('v1.2.0', 2703, signer);
  await s.appliedCommit(v120);
  const signed = await s.rollback(['--track-tags', 'v*', '--to', 'v1.1.1', '--sign-key', signer.key]);
  assert.equal(signed.code, 0, signed.stderr);
  const [name, commit] = signed.stdout.trim().split(' ');
  assert.equal(name, 'v1.2.1');
  assert.match(signed.stderr, /\(signed\)/);
  await s.appliedCommit(commit!);
  assert.equal(s.inForcePort(), 2701);
  assert.match(bareGit(s.fx, ['cat-file', '-p', 'refs/tags/v1.2.1']), /-----BEGIN SSH SIGNATURE-----/);
});
