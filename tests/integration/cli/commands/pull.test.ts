/**
 * cli/commands/pull.ts: `nft-sync pull` applies the revision once inside a throwaway namespace
 * and says so; pulled again, it is already in force; a pull needs a target. A one-shot command:
 * stdout carries only its result, its log lines go to stderr.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli-process.js';
import { createNetns } from '../../../helpers/netns.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { makeStateDir } from '../../../helpers/temp-dir.js';

test('pull: "applied RULESET at COMMIT (blob B)" and the table in nft; again: "already in force:"; at debug the result alone on stdout, the log lines on stderr; the --name picks the ruleset; no --ref exit 2', async (t) => {
  const f = await startServerFixture(t);
  const web = '{"nftables": [{"table": {"family": "inet", "name": "nft_sync_web"}}]}\n';
  const commit = f.push({ 'rulesets/web.json': web, 'nft-sync.yaml': 'agents:\n  - match: "web-*"\n    ruleset: web\n' }, 'web');
  const ns = createNetns(t, 'pullc');
  const args = ['pull', '--server', `${f.host}:${f.port}`, '--ref', 'main', '--nft', ns.nftCommand, '--state-dir', makeStateDir(t), '--confirm-window', '0', '--name', 'web-1'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `applied web at ${commit} (blob ${f.git(['rev-parse', `${commit}:rulesets/web.json`])})\n`);
  assert.match(ns.nft(['list', 'tables']), /table inet nft_sync_web/);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^already in force: web at ${commit} `));
  const next = f.push({ 'rulesets/web.json': web.replace('nft_sync_web', 'nft_sync_web2') }, 'web2');
  const noisy = await runCli([...args, '--log-level', 'debug']);
  assert.equal(noisy.code, 0, noisy.stderr);
  assert.equal(noisy.stdout, `applied web at ${next} (blob ${f.git(['rev-parse', `${next}:rulesets/web.json`])})\n`, 'stdout: the result line alone');
  const logged = noisy.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; agent: string });
  assert.ok(logged.some((l) => l.msg === 'applied' && l.agent === 'web-1'), `the log lines on stderr: ${noisy.stderr}`);
  const bad = await runCli(args.filter((a, i) => a !== '--ref' && args[i - 1] !== '--ref'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /NFTSYNC_ERR_USAGE/);
});
