/**
 * validatePush called directly on a real repository (git plumbing, real nft in the validator's
 * own scratch namespace): which refs and files it looks at, and that each blob is judged once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initRepository } from '../../../server/init-repository.js';
import { validatePush } from '../../../server/push-validator.js';
import { tempDir, testGitEnv } from '../../helpers/git-fixture.js';

const ZERO = '0'.repeat(40);

async function repo(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const bare = join(dir, 'r.git');
  await initRepository(bare, 'repo-template');
  const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', bare, ...args], { input, env: testGitEnv(), encoding: 'utf8' }).trim();
  /** A commit on top of main with `files` changed (path -> content). */
  const commit = (files: Record<string, string>, parent = g(['rev-parse', 'main'])) => {
    const env = { ...testGitEnv(), GIT_INDEX_FILE: join(dir, 'index') };
    execFileSync('git', ['--git-dir', bare, 'read-tree', parent], { env });
    for (const [path, text] of Object.entries(files)) {
      const blob = g(['hash-object', '-w', '--stdin'], text);
      execFileSync('git', ['--git-dir', bare, 'update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
    }
    const tree = execFileSync('git', ['--git-dir', bare, 'write-tree'], { env, encoding: 'utf8' }).trim();
    return g(['commit-tree', tree, '-p', parent, '-m', 'c']);
  };
  return { bare, g, commit };
}

describe('validatePush', () => {
  test('checks only rulesets changed since the old commit, each blob once, peeling tags; skips deletions and other refs', async (t) => {
    const r = await repo(t);
    const main = r.g(['rev-parse', 'main']);
    const good = r.commit({ 'rulesets/web.json': '{"nftables": []}' });
    const tag = r.g(['mktag'], `object ${good}\ntype commit\ntag v1\ntagger T <t@t> 0 +0000\n\nrelease\n`);
    const result = await validatePush(
      [
        { old: main, new: good, ref: 'refs/heads/main' },
        { old: ZERO, new: tag, ref: 'refs/tags/v1' },
        { old: main, new: ZERO, ref: 'refs/heads/gone' },
        { old: ZERO, new: r.commit({ 'rulesets/x.json': 'nope' }), ref: 'refs/notes/commits' },
      ],
      { gitdir: r.bare },
    );
    assert.deepEqual(result.problems, []);
    // web.json (changed on main, and all files of the new tag) and default.json (new tag): 2 blobs.
    assert.equal(result.checked, 2);
    assert.equal(result.loaded, true);
  });

  test('an unchanged bad file is not judged again, a changed one is; nft off checks JSON and schema only', async (t) => {
    const r = await repo(t);
    const bad = r.commit({ 'rulesets/web.json': '{"nftables": [{"rule": {}}]}' });
    r.g(['update-ref', 'refs/heads/main', bad]);
    const next = r.commit({ 'notes.txt': 'x' }, bad);
    const unchanged = await validatePush([{ old: bad, new: next, ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.deepEqual([unchanged.problems, unchanged.checked], [[], 0]);
    const jump = r.commit({ 'rulesets/web.json': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 't' } }, { chain: { family: 'inet', table: 't', name: 'c' } }, { rule: { family: 'inet', table: 't', chain: 'c', expr: [{ jump: { target: 'nowhere' } }] } }] }) }, next);
    const off = await validatePush([{ old: next, new: jump, ref: 'refs/heads/main' }], { gitdir: r.bare, nft: 'off' });
    assert.deepEqual([off.problems, off.checked, off.loaded], [[], 1, 'turned off']);
    const on = await validatePush([{ old: next, new: jump, ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.deepEqual(on.problems.map((p) => [p.path, p.code]), [['rulesets/web.json', 'NFTSYNC_ERR_NFT_APPLY']]);
  });
  test('a table name a well-known tool uses is a warning, not a refusal (nft load or not)', async (t) => {
    const r = await repo(t);
    const main = r.g(['rev-parse', 'main']);
    const ruleset = { nftables: [{ table: { family: 'inet', name: 'f2b-table' } }, { table: { family: 'ip', name: 'nat' } }, { table: { family: 'inet', name: 'mine' } }] };
    const c = r.commit({ 'rulesets/web.json': JSON.stringify(ruleset) });
    for (const nft of ['auto', 'off'] as const) {
      const result = await validatePush([{ old: main, new: c, ref: 'refs/heads/main' }], { gitdir: r.bare, nft });
      assert.deepEqual(result.problems, []);
      const named = result.warnings.filter((w) => / is a name .* uses: /.test(w));
      assert.equal(named.length, 2, result.warnings.join('\n'));
      assert.match(named[0]!, /^rulesets\/web\.json: table inet f2b-table is a name fail2ban uses/);
      assert.match(named[1]!, /^rulesets\/web\.json: table ip nat is a name iptables-nft \(Docker, ufw, …\) uses/);
    }
  });
});
