/**
 * Big sets through push-time validation, with real git and real nft: a 100,000-element set
 * pushed through the real pre-receive hook is accepted every time, and reading big sets back
 * through small copies still finds what nft changes. The 1,000,000-element case takes tens of
 * seconds: `node --import tsx bench/big-set-push.ts 1000000 2`.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createNftRunner, type NftRunner } from '../../../../host/nft-runner.js';
import { buildApplyTransaction } from '../../../../shared/ruleset/apply-plan.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { initRepository } from '../../../../server/git/init-repository.js';
import { validatePush } from '../../../../server/push/push-validator.js';
import { readBackScratch } from '../../../../host/scratch-read-back.js';
import { bigAddressList, bigSetRuleset } from '../../../helpers/big-set.js';
import { runCli } from '../../../helpers/cli-process.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';
import { createNetns } from '../../../helpers/netns.js';

function push(cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', ['push', 'origin', 'HEAD:main'], { cwd, env: testGitEnv(), encoding: 'utf8', timeout: 180_000 }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
}

async function bareRepo(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const bare = join(dir, 'r.git');
  await initRepository(bare, 'repo-template');
  const main = git(bare, ['rev-parse', 'main']);
  /** A commit on main holding `ruleset` as rulesets/web.json. */
  const commit = (ruleset: unknown): string => {
    const env = { ...testGitEnv(), GIT_INDEX_FILE: join(dir, 'index') };
    const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', bare, ...args], { env, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
    g(['read-tree', main]);
    const blob = g(['hash-object', '-w', '--stdin'], JSON.stringify(ruleset));
    g(['update-index', '--add', '--cacheinfo', `100644,${blob},rulesets/web.json`]);
    return g(['commit-tree', g(['write-tree']), '-p', main, '-m', 'big']);
  };
  return { bare, main, commit };
}

describe('big sets at push time', () => {
  test('a 100,000-element set pushed through the real hook is accepted, three pushes of three sets', { timeout: 600_000 }, async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'rules.git');
    assert.equal((await runCli(['init', bare])).code, 0);
    git(dir, ['clone', '-q', bare, 'c']);
    const clone = join(dir, 'c');
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(clone, 'rulesets/default.json'), JSON.stringify(bigSetRuleset(100_000, 42 + i)));
      git(clone, ['commit', '-qam', `blocklist ${i}`]);
      const r = await push(clone);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /1 ruleset\(s\) valid, loaded and read back in a scratch namespace/);
      assert.doesNotMatch(r.stderr, /LOSSY|not compared/);
      assert.equal(git(bare, ['rev-parse', 'main']), git(clone, ['rev-parse', 'HEAD']));
    }
  });

  test('read back through copies, a big set still shows what nft changes: a rewritten element, a duplicate it drops', { timeout: 300_000 }, async (t) => {
    const r = await bareRepo(t);
    const v6 = Array.from({ length: 9_000 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    v6[4321] = '2001:DB8:0::ABCD'; // nft lists it as 2001:db8::abcd
    const rewritten = { nftables: [{ table: { family: 'inet', name: 'big' } }, { set: { family: 'inet', table: 'big', name: 'v6', type: 'ipv6_addr', elem: v6 } }] };
    const a = await validatePush([{ old: r.main, new: r.commit(rewritten), ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.deepEqual(a.problems.map((p) => p.code), ['NFTSYNC_ERR_RULESET_LOSSY']);
    assert.match(a.problems[0]!.message, /set inet big v6: 1 element\(s\) removed \("2001:DB8:0::ABCD"\); set inet big v6: 1 element\(s\) added \("2001:db8::abcd"\)/);

    const v4 = bigAddressList(9_000, 7);
    v4.push(v4[10]!); // declared twice: the kernel keeps one
    const twice = { nftables: [{ table: { family: 'inet', name: 'big' } }, { set: { family: 'inet', table: 'big', name: 'v4', type: 'ipv4_addr', elem: v4 } }] };
    const b = await validatePush([{ old: r.main, new: r.commit(twice), ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.equal(b.problems.length, 1);
    assert.match(b.problems[0]!.message, new RegExp(`set inet big v4: 1 element\\(s\\) removed \\("${v4[10]!.replace(/\./g, '\\.')}"\\)`));
  });

  test('several rulesets with big sets, loaded together (tables renamed apart): each read back through its copies', { timeout: 300_000 }, async (t) => {
    const r = await bareRepo(t);
    const env = { ...testGitEnv(), GIT_INDEX_FILE: join(tempDir(t), 'index') };
    const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', r.bare, ...args], { env, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
    g(['read-tree', r.main]);
    const bad = bigSetRuleset(6_000, 11) as { nftables: Array<{ set?: { elem: string[] } }> };
    bad.nftables[1]!.set!.elem[5000] = '010.0.0.1'; // nft reads 010 as octal 8: listed as 8.0.0.1
    for (const [name, ruleset] of [['a', bigSetRuleset(6_000, 9)], ['b', bigSetRuleset(6_000, 10)], ['c', bad]] as const) {
      const blob = g(['hash-object', '-w', '--stdin'], JSON.stringify(ruleset));
      g(['update-index', '--add', '--cacheinfo', `100644,${blob},rulesets/${name}.json`]);
    }
    const c = g(['commit-tree', g(['write-tree']), '-p', r.main, '-m', 'three']);
    const result = await validatePush([{ old: r.main, new: c, ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.deepEqual(result.problems.map((p) => [p.path, p.code]), [['rulesets/c.json', 'NFTSYNC_ERR_RULESET_LOSSY']]);
    assert.match(result.problems[0]!.message, /set inet bigset blocklist: 1 element\(s\) removed \("010\.0\.0\.1"\)/);
  });

  test('readBackScratch lists again when a listing repeats keys (fake listing: the kernel\'s resize race cannot be provoked on demand)', async (t) => {
    const ns = createNetns(t, 'rbk');
    const real = createNftRunner(ns.nftCommand);
    const ruleset = bigSetRuleset(10_000, 3) as Ruleset;
    const batch = buildApplyTransaction(ruleset, []);
    await real.applyJson(JSON.stringify(batch));
    let listings = 0;
    // The first listing comes back as the kernel gave it for a set being resized: as many
    // elements, one of them twice and another missing.
    const torn: NftRunner = {
      ...real,
      async run(args, input, options) {
        const out = await real.run(args, input, options);
        if (args.join(' ') !== '-j list ruleset' || listings++ > 0) return out;
        const doc = JSON.parse(out.stdout) as { nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> };
        const copy = doc.nftables.find((i) => i.set?.name?.startsWith('blocklist__nftsync_chunk'))!.set!;
        copy.elem![1] = copy.elem![0];
        return { ...out, stdout: JSON.stringify(doc) };
      },
    };
    const back = await readBackScratch(torn, batch);
    assert.equal(listings, 2);
    assert.deepEqual(back.unverified, []);
    const listed = back.listing.nftables.find((i) => 'set' in i) as { set: { name: string; elem: string[] } };
    assert.equal(listed.set.name, 'blocklist');
    assert.deepEqual([...listed.set.elem].sort(), [...(ruleset.nftables[1] as { set: { elem: string[] } }).set.elem].sort());
    assert.equal(back.listing.nftables.filter((i) => 'set' in i).length, 1, 'the copies are not in the listing');
  });
});
