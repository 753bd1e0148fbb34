/**
 * `nft-sync agent` and `pull` refuse a bad --ref, --track-tags pattern or --ruleset at start with
 * one coded line, before connecting or touching nft (the daemon used to take a bad name for an
 * unreachable server and retry forever).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, runCli } from '../helpers/cli-process.js';
import { createNetns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';

test('agent and pull: a bad --ref, --track-tags or --ruleset exits 1 at once with its code', async (t) => {
  const ns = createNetns(t, 'flags');
  const dir = makeTempDir(t, 'nft-sync-state-');
  const server = `127.0.0.1:${await freePort()}`;
  const common = ['--server', server, '--nft', ns.nftCommand, '--state-dir', dir];
  const cases: Array<[string[], string]> = [
    [['agent', '--name', 'h1', '--ref', 'bad..ref', ...common], 'NFTSYNC_ERR_REF_INVALID'],
    [['agent', '--name', 'h1', '--track-tags', 'v[', ...common], 'NFTSYNC_ERR_REF_INVALID'],
    [['agent', '--name', 'h1', '--ref', 'main', '--ruleset', '../etc/passwd', ...common], 'NFTSYNC_ERR_RULESET_NAME_INVALID'],
    [['pull', '--name', 'h1', '--ref', 'bad..ref', ...common], 'NFTSYNC_ERR_REF_INVALID'],
  ];
  for (const [args, code] of cases) {
    const r = await runCli(args, { timeoutMs: 8000 });
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${String(r.code)}; ${r.stderr.slice(0, 500)}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^nft-sync: ${code}`));
  }
});

test('agent and pull: --allow-downgrade without --track-tags is a usage error (exit 2)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-state-');
  const r = await runCli(['pull', '--server', `127.0.0.1:${await freePort()}`, '--ref', 'main', '--allow-downgrade', '--name', 'h1', '--state-dir', dir], { timeoutMs: 8000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^nft-sync: NFTSYNC_ERR_USAGE: pull: --allow-downgrade goes with --track-tags/);
});

test('agent --help shows --publish and --publish-quiet with its default; a quiet period over 1 s or --publish with --track-tags is a usage error', async (t) => {
  const help = await runCli(['agent', '--help'], { timeoutMs: 8000 });
  assert.equal(help.code, 0, help.stderr);
  const text = help.stdout + help.stderr;
  assert.match(text, /--publish\b/);
  assert.match(text, /--publish-quiet [^\n]*\(default: 0\.5\)/);
  const dir = makeTempDir(t, 'nft-sync-state-');
  const common = ['agent', '--server', `127.0.0.1:${await freePort()}`, '--name', 'h1', '--state-dir', dir, '--publish'];
  const slow = await runCli([...common, '--ref', 'main', '--publish-quiet', '2'], { timeoutMs: 8000 });
  assert.equal(slow.code, 2, slow.stderr);
  assert.match(slow.stderr, /^nft-sync: NFTSYNC_ERR_USAGE: --publish-quiet must be a number of seconds from 0 to 1/);
  const tags = await runCli([...common, '--track-tags', 'v*'], { timeoutMs: 8000 });
  assert.equal(tags.code, 2, tags.stderr);
  assert.match(tags.stderr, /--publish needs a branch/);
});
