/**
 * validatePush called directly on a real repository (git plumbing, real nft in the validator's
 * own scratch namespace): which refs and files it looks at, and that each blob is judged once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initRepository } from '../../../../server/git/init-repository.js';
import { validatePush } from '../../../../server/push/push-validator.js';
import { tempDir, testGitEnv } from '../../../helpers/git-fixture.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const ZERO = '0'.repeat(40);

async function repo(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const bare = join(dir, 'r.git');
  await initRepository(bare, 'repo-template');
  const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', bare, ...args], { input, env: testGitEnv(), encoding: 'utf8' }).trim();
  /** A commit on top of main with `files` changed (path -> content). */
  const commit = (files: Record<string, string | null>, parent = g(['rev-parse', 'main'])) => {
    const env = { ...testGitEnv(), GIT_INDEX_FILE: join(dir, 'index') };
    execFileSync('git', ['--git-dir', bare, 'read-tree', parent], { env });
    for (const [path, text] of Object.entries(files)) {
      if (text === null) {
        execFileSync('git', ['--git-dir', bare, 'rm', '-q', '--cached', path], { env });
        continue;
      }
      const blob = g(['hash-object', '-w', '--stdin'], text);
      execFileSync('git', ['--git-dir', bare, 'update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
    }
    const tree = execFileSync('git', ['--git-dir', bare, 'write-tree'], { env, encoding: 'utf8' }).trim();
    return g(['commit-tree', tree, '-p', parent, '-m', 'c']);
  };
  return { bare, g, commit };
}

describe('validatePush: rulesets with element change files', () => {
  const SET = { family: 'inet', table: 't', name: 'block' };
  const BASE = renderRuleset({ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1'] } }] });

  test('a push of only a change file judges the composed ruleset, loaded into nft; unchanged ones are not judged again', async (t) => {
    const r = await repo(t);
    const base = r.commit({ 'rulesets/web.json': BASE });
    r.g(['update-ref', 'refs/heads/main', base]);
    const c = r.commit({ 'rulesets/web.elements/000001.json': renderChangeFile(SET, ['198.18.0.2'], ['198.18.0.1']) }, base);
    const result = await validatePush([{ old: base, new: c, ref: 'refs/heads/main' }], { gitdir: r.bare });
    assert.deepEqual(result.problems, []);
    assert.equal(result.checked, 1);
    assert.equal(result.loaded, process.getuid?.() === 0 ? true : result.loaded);
    const next = r.commit({ 'notes.txt': 'x' }, c);
    assert.equal((await validatePush([{ old: c, new: next, ref: 'refs/heads/main' }], { gitdir: r.bare })).checked, 0);
  });

  test('malformed, stray, orphaned and misdirected change files are refused naming the file, with stable codes', async (t) => {
    const r = await repo(t);
    const base = r.commit({ 'rulesets/web.json': BASE });
    r.g(['update-ref', 'refs/heads/main', base]);
    const cases: Array<[Record<string, string | null>, string, string, RegExp]> = [
      [{ 'rulesets/web.elements/000001.json': '{"add": []}' }, 'rulesets/web.elements/000001.json', 'NFTSYNC_ERR_RULESET_SCHEMA', /not an element change file/],
      [{ 'rulesets/web.elements/000001.json': '{' }, 'rulesets/web.elements/000001.json', 'NFTSYNC_ERR_RULESET_JSON', /not valid JSON/],
      [{ 'rulesets/web.elements/notes.json': renderChangeFile(SET, ['198.18.0.2'], []) }, 'rulesets/web.elements/notes.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID', /holds only element change files, regular files named NNNNNN\.json/],
      [{ 'rulesets/web.elements/sub/000001.json': renderChangeFile(SET, ['198.18.0.2'], []) }, 'rulesets/web.elements/sub/000001.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID', /"sub\/000001\.json"/],
      [{ 'rulesets/gone.elements/000001.json': renderChangeFile(SET, ['198.18.0.2'], []) }, 'rulesets/gone.elements/', 'NFTSYNC_ERR_RULESET_NOT_FOUND', /no rulesets\/gone\.json for them to change/],
      [{ 'rulesets/web.elements/000001.json': renderChangeFile({ ...SET, name: 'nope' }, ['198.18.0.2'], []) }, 'rulesets/web.elements/000001.json', 'NFTSYNC_ERR_SET_NOT_FOUND', /inet\/t\/nope, which the base ruleset does not declare/],
      [{ 'rulesets/web.elements/000001.json': renderChangeFile(SET, ['198.18.0.300'], []) }, 'rulesets/web.elements/000001.json', 'NFTSYNC_ERR_ELEMENT_INVALID', /\(add\[0\]\).*not a valid ipv4_addr/],
    ];
    for (const [files, path, code, message] of cases) {
      const c = r.commit(files, base);
      const result = await validatePush([{ old: base, new: c, ref: 'refs/heads/main' }], { gitdir: r.bare, nft: 'off' });
      assert.deepEqual(result.problems.map((p) => [p.path, p.code]), [[path, code]], JSON.stringify(files));
      assert.match(result.problems[0]!.message, message);
    }
    // Deleting the base while its change files stay is refused too.
    const withChange = r.commit({ 'rulesets/web.elements/000001.json': renderChangeFile(SET, ['198.18.0.2'], []) }, base);
    const noBase = r.commit({ 'rulesets/web.json': null, 'rulesets/default.json': BASE }, withChange);
    const result = await validatePush([{ old: withChange, new: noBase, ref: 'refs/heads/main' }], { gitdir: r.bare, nft: 'off' });
    assert.deepEqual(result.problems.map((p) => [p.path, p.code]), [['rulesets/web.elements/', 'NFTSYNC_ERR_RULESET_NOT_FOUND']]);
  });

  test("security: a pusher's odd entries under NAME.elements (a symlink, a gitlink, a blob named NAME.elements) and 1,001 change files: refused or ignored, never composed", async (t) => {
    const r = await repo(t);
    const base = r.commit({ 'rulesets/web.json': BASE });
    r.g(['update-ref', 'refs/heads/main', base]);
    const change = r.g(['hash-object', '-w', '--stdin'], renderChangeFile(SET, ['198.18.0.2'], []));
    /** A commit on `base` with index lines (`MODE SHA\tPATH`) added, in one update-index. */
    const withEntries = (lines: string[]) => {
      const env = { ...testGitEnv(), GIT_INDEX_FILE: join(tempDir(t), 'index') };
      execFileSync('git', ['--git-dir', r.bare, 'read-tree', base], { env });
      execFileSync('git', ['--git-dir', r.bare, 'update-index', '--index-info'], { env, input: lines.map((l) => `${l}\n`).join('') });
      const tree = execFileSync('git', ['--git-dir', r.bare, 'write-tree'], { env, encoding: 'utf8' }).trim();
      return r.g(['commit-tree', tree, '-p', base, '-m', 'c']);
    };
    const judge = async (commit: string) => (await validatePush([{ old: base, new: commit, ref: 'refs/heads/main' }], { gitdir: r.bare, nft: 'off' })).problems.map((p) => [p.path, p.code]);
    assert.deepEqual(await judge(withEntries([`120000 ${change}\trulesets/web.elements/000001.json`])), [['rulesets/web.elements/000001.json', 'NFTSYNC_ERR_RULESET_NAME_INVALID']]);
    // A gitlink is no file: neither the validator nor the server composes it.
    assert.deepEqual(await judge(withEntries([`160000 ${base}\trulesets/web.elements/000001.json`, `100644 ${change}\trulesets/web.elements/000002.json`])), []);
    assert.deepEqual(await judge(withEntries([`100644 ${change}\trulesets/web.elements`])), []);
    const many = Array.from({ length: 1_001 }, (_, i) => `100644 ${change}\trulesets/web.elements/${String(i + 1).padStart(6, '0')}.json`);
    assert.deepEqual(await judge(withEntries(many)), [['rulesets/web.elements/', 'NFTSYNC_ERR_RULESET_TOO_COMPLEX']]);
    assert.deepEqual(await judge(withEntries(many.slice(1))), [], '1,000 change files are allowed');
  });
});

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
  test('a refused ruleset names the object nft refused: pointer and rendering, found by dry runs where nft does not say', async (t) => {
    const r = await repo(t);
    const main = r.g(['rev-parse', 'main']);
    const T = { family: 'inet', table: 't' };
    const rule = (expr: unknown[]) => ({ rule: { ...T, chain: 'c', expr } });
    const base = [
      { table: { family: 'inet', name: 't' } },
      { set: { ...T, name: 's', type: 'ipv4_addr', elem: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } },
      { chain: { ...T, name: 'c' } },
      rule([{ accept: null }]),
      rule([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { accept: null }]),
      rule([{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@s' } }, { drop: null }]),
    ];
    const push = async (items: unknown[]) => {
      const c = r.commit({ 'rulesets/web.json': JSON.stringify({ nftables: items }) });
      return (await validatePush([{ old: main, new: c, ref: 'refs/heads/main' }], { gitdir: r.bare })).problems;
    };
    // nft 1.0.6 says only "Could not resolve service" (internal:0:0-0): dry runs find the rule.
    const badRule = await push([...base.slice(0, 5), rule([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 'no-such-service' } }]), base[5]]);
    assert.deepEqual(badRule.map((p) => [p.code, p.pointer]), [['NFTSYNC_ERR_NFT_APPLY', '/nftables/5']]);
    assert.match(badRule[0]!.message, /^nft refuses rule 3 of chain inet t c \(\/nftables\/5; found by dry runs of parts of the ruleset\): .*Could not resolve service/);
    // A bad element: the set, then the element within it.
    const badElement = structuredClone(base);
    (badElement[1] as { set: { elem: string[] } }).set.elem.splice(2, 0, 'not-an-address');
    const el = await push(badElement);
    assert.deepEqual(el.map((p) => p.pointer), ['/nftables/1/set/elem/2']);
    assert.match(el[0]!.message, /^nft refuses element 3 of set inet t s \(\/nftables\/1\/set\/elem\/2; found by dry runs/);
    // nft's own index for what it cannot parse: no dry run needed.
    const unparsable = await push([...base, rule([{ counter: null }, { bogus: 1 }])]);
    assert.match(unparsable[0]!.message, /^nft refuses statement 2 of rule 4 of chain inet t c \(\/nftables\/6\/rule\/expr\/1\): .*Unknown statement object 'bogus'/);
  });
});
