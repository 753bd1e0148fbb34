import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ErrorCode } from '../../../../shared/errors.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { initRepository } from '../../../../server/git/init-repository.js';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { expectCode } from '../../../helpers/expect-code.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { composeRuleset } from '../../../../shared/ruleset/compose-ruleset.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

/** expectCode, and the error's `data` holds `data`'s fields. */
async function rejectsWith(p: Promise<unknown>, code: ErrorCode, data?: Record<string, unknown>): Promise<void> {
  const err = await expectCode(p, code);
  for (const [k, v] of Object.entries(data ?? {})) assert.deepEqual(err.data?.[k], v);
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Fixture: a bare repository made by initRepository (commit 1: rulesets default and web, a
 * mapping), and a clone that added commit 2 (changed web, new db, odd files, no mapping change),
 * tags v1 (lightweight, at 1), v1.1 (annotated, at 2), both (a tag and a branch of that name),
 * and commit 3 on branch broken with an invalid nft-sync.yaml.
 */
let root: string;
let bare: string;
let work: string;
let repo: RulesetRepository;
const c: Record<string, string> = {};

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'nft-sync-rr-'));
  const template = join(root, 'template');
  mkdirSync(join(template, 'rulesets'), { recursive: true });
  writeFileSync(join(template, 'rulesets', 'default.json'), '{"nftables":[{"metainfo":{"json_schema_version":1}}]}\n');
  writeFileSync(join(template, 'rulesets', 'web.json'), '{"nftables":[{"table":{"family":"inet","name":"web"}}]}\n');
  writeFileSync(join(template, 'nft-sync.yaml'), 'agents:\n  - match: "web-*"\n    ruleset: web\n');
  bare = join(root, 'rules.git');
  c.one = (await initRepository(bare, template)).commit;
  work = join(root, 'work');
  git(root, ['clone', '-q', bare, work]);
  writeFileSync(join(work, 'rulesets', 'web.json'), '{"nftables":[{"table":{"family":"inet","name":"web2"}}]}\n');
  writeFileSync(join(work, 'rulesets', 'db.json'), '{"nftables":[]}\n');
  writeFileSync(join(work, 'rulesets', '.hidden.json'), '{}\n');
  writeFileSync(join(work, 'rulesets', 'notes.txt'), 'not a ruleset\n');
  symlinkSync('/etc/passwd', join(work, 'rulesets', 'link.json'));
  git(work, ['add', '-A']);
  git(work, ['commit', '-qm', 'two']);
  c.two = git(work, ['rev-parse', 'HEAD']);
  git(work, ['tag', 'v1', c.one]);
  git(work, ['tag', '-a', '-m', 'release 1.1', 'v1.1', c.two]);
  git(work, ['tag', '-a', '-m', 'tag of a tag', 'v1.1-again', 'v1.1']);
  git(work, ['tag', 'both', c.one]);
  git(work, ['branch', 'both', c.two]);
  git(work, ['checkout', '-qb', 'broken']);
  writeFileSync(join(work, 'nft-sync.yaml'), 'agents:\n  - match: "web-*"\n    rulset: web\n');
  git(work, ['commit', '-qam', 'three']);
  c.three = git(work, ['rev-parse', 'HEAD']);
  git(work, ['push', '-q', 'origin', 'refs/heads/main', 'refs/heads/both', 'refs/heads/broken', '--tags']);
  repo = await RulesetRepository.open(bare);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('RulesetRepository.open', () => {
  it('refuses a directory that is not a git repository', async (t) => {
    await rejectsWith(RulesetRepository.open(tempDir(t)), 'NFTSYNC_ERR_REPO_NOT_FOUND');
    await rejectsWith(RulesetRepository.open('/nonexistent/nowhere'), 'NFTSYNC_ERR_REPO_NOT_FOUND');
  });
  it('opens a non-bare repository too', async () => {
    const r = await RulesetRepository.open(work);
    assert.equal(await r.resolveRef('broken'), c.three);
  });
});

describe('resolveRef', () => {
  const cases: Array<[string, () => string]> = [
    ['main', () => c.two as string],
    ['HEAD', () => c.two as string],
    ['refs/heads/main', () => c.two as string],
    ['heads/main', () => c.two as string],
    ['v1', () => c.one as string],
    ['refs/tags/v1', () => c.one as string],
    ['v1.1', () => c.two as string],
    ['v1.1-again', () => c.two as string],
    ['both', () => c.one as string], // the tag wins over the branch, as in git
    ['refs/heads/both', () => c.two as string],
  ];
  for (const [ref, want] of cases) {
    it(`${ref} resolves as git rev-parse does`, async () => {
      assert.equal(await repo.resolveRef(ref), want());
      assert.equal(git(bare, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]), want());
    });
  }
  it('full and abbreviated commit ids, any case', async () => {
    assert.equal(await repo.resolveRef(c.one as string), c.one);
    assert.equal(await repo.resolveRef((c.one as string).toUpperCase()), c.one);
    for (const len of [4, 7, 12, 39]) {
      const short = git(bare, ['rev-parse', `--short=${len}`, c.three as string]);
      assert.equal(await repo.resolveRef(short), c.three, short);
    }
  });
  it('an annotated tag id is peeled to its commit', async () => {
    assert.equal(await repo.resolveRef(git(bare, ['rev-parse', 'v1.1'])), c.two);
  });
  it('missing names and missing objects are not found', async () => {
    await rejectsWith(repo.resolveRef('nope'), 'NFTSYNC_ERR_REF_NOT_FOUND', { ref: 'nope' });
    await rejectsWith(repo.resolveRef('refs/heads/nope'), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await rejectsWith(repo.resolveRef('0'.repeat(40)), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await rejectsWith(repo.resolveRef('deadbeef'.repeat(5)), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await rejectsWith(repo.resolveRef('fffffff'), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await rejectsWith(repo.resolveRef('abc'), 'NFTSYNC_ERR_REF_NOT_FOUND'); // too short to be an id
  });
  it('blob and tree ids are refused', async () => {
    await rejectsWith(repo.resolveRef(git(bare, ['rev-parse', 'main:rulesets/web.json'])), 'NFTSYNC_ERR_REF_NOT_COMMIT');
    await rejectsWith(repo.resolveRef(git(bare, ['rev-parse', 'main^{tree}'])), 'NFTSYNC_ERR_REF_NOT_COMMIT');
  });
  const hostile = ['../../etc/passwd', 'main\0', '-rf', 'refs/heads/../../config', 'main..', 'a b', '', 'x'.repeat(300),
    '@{-1}', 'HEAD~1', 'main^', ':/two', '/etc/passwd', 'refs/heads/', 'main.lock', '.git', 'x\\y', 'refs/heads/.x', 'main\n'];
  for (const ref of hostile) {
    it(`refuses hostile ref ${JSON.stringify(ref.slice(0, 30))}`, async () => {
      await rejectsWith(repo.resolveRef(ref), 'NFTSYNC_ERR_REF_INVALID');
    });
  }
});

/** Write into `gitdir` an unreferenced commit whose id starts with `prefix` (~65536 hashes). */
function commitWithPrefix(gitdir: string, tree: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const body = `tree ${tree}\nauthor T <t@x> 0 +0000\ncommitter T <t@x> 0 +0000\n\ncollide ${i}\n`;
    const id = createHash('sha1').update(`commit ${Buffer.byteLength(body)}\0${body}`).digest('hex');
    if (id.startsWith(prefix)) {
      assert.equal(git(gitdir, ['hash-object', '-t', 'commit', '-w', '--stdin'], body), id);
      return id;
    }
  }
}

/** Write into `gitdir` a blob whose id starts with `prefix`. */
function blobWithPrefix(gitdir: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const text = `blob ${i}\n`;
    const id = gitBlobId(Buffer.from(text));
    if (id.startsWith(prefix)) {
      assert.equal(git(gitdir, ['hash-object', '-w', '--stdin'], text), id);
      return id;
    }
  }
}

describe('abbreviated ids that collide', () => {
  it('two commits sharing a 4-digit prefix are ambiguous; a blob sharing it is not', async (t) => {
    const clone = join(tempDir(t), 'r.git');
    git(root, ['clone', '-q', '--bare', bare, clone]);
    const r = await RulesetRepository.open(clone);
    const prefix = (c.one as string).slice(0, 4);
    // A blob with the same prefix: git's committish disambiguation ignores it.
    blobWithPrefix(clone, prefix);
    assert.equal(await r.resolveRef(prefix), c.one);
    assert.equal(git(clone, ['rev-parse', `${prefix}^{commit}`]), c.one);
    const other = commitWithPrefix(clone, git(clone, ['rev-parse', 'main^{tree}']), prefix);
    // Unreferenced, it was never validated: it neither resolves nor makes the prefix ambiguous.
    assert.equal(await r.resolveRef(prefix), c.one);
    await rejectsWith(r.resolveRef(other), 'NFTSYNC_ERR_REF_NOT_FOUND');
    // On a branch, it counts.
    git(clone, ['update-ref', 'refs/heads/collide', other]);
    await rejectsWith(r.resolveRef(prefix), 'NFTSYNC_ERR_REF_AMBIGUOUS', { candidates: [c.one, other].sort() });
    assert.throws(() => git(clone, ['rev-parse', `${prefix}^{commit}`]));
    assert.equal(await r.resolveRef((c.one as string).slice(0, 12)), c.one);
  });
});

describe('readRuleset', () => {
  it('returns the bytes and blob id git has', async () => {
    for (const commit of [c.one as string, c.two as string]) {
      const { blob, bytes } = await repo.readRuleset(commit, 'web');
      assert.equal(bytes.toString(), git(bare, ['show', `${commit}:rulesets/web.json`]) + '\n');
      assert.equal(blob, git(bare, ['rev-parse', `${commit}:rulesets/web.json`]));
      assert.equal(gitBlobId(bytes), blob);
    }
  });
  it('a cache hit returns the same bytes', async () => {
    const a = await repo.readRuleset(c.two as string, 'db');
    const b = await repo.readRuleset(c.two as string, 'db');
    assert.equal(a.bytes, b.bytes);
    assert.deepEqual(a, b);
    // The same blob in another commit is shared too.
    const d = await repo.readRuleset(c.three as string, 'db');
    assert.equal(d.bytes, a.bytes);
  });
  it('concurrent cold reads agree', async () => {
    const r = await RulesetRepository.open(bare);
    const all = await Promise.all(Array.from({ length: 50 }, () => r.readRuleset(c.two as string, 'web')));
    for (const x of all) assert.equal(x.bytes, all[0]?.bytes);
  });
  it('a missing ruleset names the ruleset and the commit', async () => {
    await rejectsWith(repo.readRuleset(c.one as string, 'db'), 'NFTSYNC_ERR_RULESET_NOT_FOUND', { ruleset: 'db', commit: c.one });
    await rejectsWith(repo.readRuleset(c.two as string, 'link'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
  });
  for (const name of ['../x', 'a/b', '.hidden', 'x\0y', '..', '', '../../../../etc/passwd', 'web.json/..', 'x'.repeat(65)]) {
    it(`refuses hostile ruleset name ${JSON.stringify(name.slice(0, 30))}`, async () => {
      await rejectsWith(repo.readRuleset(c.two as string, name), 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    });
  }
  it('refuses what is not a full commit id', async () => {
    await rejectsWith(repo.readRuleset('main', 'web'), 'NFTSYNC_ERR_REF_INVALID');
    await rejectsWith(repo.readRuleset('1'.repeat(40), 'web'), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await rejectsWith(repo.readRuleset(git(bare, ['rev-parse', 'v1.1']), 'web'), 'NFTSYNC_ERR_REF_NOT_COMMIT');
    await rejectsWith(repo.readRuleset(git(bare, ['rev-parse', 'main^{tree}']), 'web'), 'NFTSYNC_ERR_REF_NOT_COMMIT');
  });
});

describe('readRuleset of a ruleset with element change files', () => {
  it('serves the composed ruleset, one element a line, its blob id that of those bytes; composed once, one copy held', async (t) => {
    const dir = tempDir(t, 'nft-sync-rr-elements-');
    const gitdir = join(dir, 'r.git');
    await initRepository(gitdir, 'repo-template');
    const clone = join(dir, 'w');
    git(dir, ['clone', '-q', gitdir, clone]);
    const set = { family: 'inet', table: 't', name: 'block' };
    const base = '{"nftables":[{"table":{"family":"inet","name":"t"}},{"set":{"family":"inet","table":"t","name":"block","type":"ipv4_addr","elem":["198.18.0.1"]}}]}\n';
    writeFileSync(join(clone, 'rulesets', 'web.json'), base);
    git(clone, ['add', '-A']);
    git(clone, ['commit', '-qm', 'base']);
    const plain = git(clone, ['rev-parse', 'HEAD']);
    mkdirSync(join(clone, 'rulesets', 'web.elements'));
    writeFileSync(join(clone, 'rulesets', 'web.elements', '000001.json'), renderChangeFile(set, ['198.18.0.2'], []));
    writeFileSync(join(clone, 'rulesets', 'web.elements', '000002.json'), renderChangeFile(set, ['198.18.0.3'], ['198.18.0.1']));
    git(clone, ['add', '-A']);
    git(clone, ['commit', '-qm', 'two element changes']);
    const changed = git(clone, ['rev-parse', 'HEAD']);
    git(clone, ['push', '-q', 'origin', 'HEAD:main']);
    const r = await RulesetRepository.open(gitdir);
    const untouched = await r.readRuleset(plain, 'web');
    assert.equal(untouched.bytes.toString(), base, 'without change files: the stored bytes, not re-rendered');
    assert.equal(untouched.blob, git(gitdir, ['rev-parse', `${plain}:rulesets/web.json`]));
    const [a, b] = await Promise.all([r.readRuleset(changed, 'web'), r.readRuleset(changed, 'web')]);
    assert.equal(a.bytes, b.bytes, 'one composition, one Buffer');
    assert.equal(a.bytes.toString(), renderRuleset(composeRuleset({ path: 'rulesets/web.json', bytes: base }, [
      { path: '1', bytes: renderChangeFile(set, ['198.18.0.2'], []) },
      { path: '2', bytes: renderChangeFile(set, ['198.18.0.3'], ['198.18.0.1']) },
    ])));
    assert.match(a.bytes.toString(), /"elem": \[\n\s+"198\.18\.0\.2",\n\s+"198\.18\.0\.3"\n/);
    assert.equal(a.blob, gitBlobId(a.bytes));
    assert.equal((await r.readRuleset(changed, 'web')).bytes, a.bytes, 'cached');
    assert.deepEqual(await r.listRulesets(changed), ['default', 'web']);
  });
});

describe('primeComposed', () => {
  it('security: a text handed over for a ruleset without change files under another blob id than the stored file\'s is not taken: readRuleset serves the file as stored (it served the text under the file\'s id, bytes that do not hash to it)', async () => {
    const r = await RulesetRepository.open(bare);
    const stored = git(bare, ['rev-parse', `${c.two}:rulesets/web.json`]);
    const other = Buffer.from('{"nftables": [\n  {"table": {"family": "inet", "name": "web2"}}\n]}\n');
    r.primeComposed(stored, [], other, gitBlobId(other));
    r.primeComposed(stored, [], other, Promise.resolve(gitBlobId(other)));
    const { blob, bytes } = await r.readRuleset(c.two as string, 'web');
    assert.equal(blob, stored);
    assert.equal(gitBlobId(bytes), blob);
    // The file's own bytes under its own id are taken (a fold's base).
    const own = Buffer.from(bytes);
    r.primeComposed(stored, [], own, stored);
    assert.equal((await r.readRuleset(c.two as string, 'web')).bytes, own);
  });
});

describe('listRulesets, rulesetForAgent', () => {
  it('lists valid ruleset names only', async () => {
    assert.deepEqual(await repo.listRulesets(c.one as string), ['default', 'web']);
    assert.deepEqual(await repo.listRulesets(c.two as string), ['db', 'default', 'web']);
  });
  it('maps agents through nft-sync.yaml at the commit', async () => {
    assert.equal(await repo.rulesetForAgent(c.two as string, 'web-3'), 'web');
    assert.equal(await repo.rulesetForAgent(c.two as string, 'db-3'), 'default');
  });
  it('no nft-sync.yaml means default', async (t) => {
    const clone = join(tempDir(t), 'w');
    git(root, ['clone', '-q', bare, clone]);
    git(clone, ['rm', '-q', 'nft-sync.yaml']);
    git(clone, ['commit', '-qm', 'no config']);
    const r = await RulesetRepository.open(clone);
    assert.equal(await r.rulesetForAgent(await r.resolveRef('HEAD'), 'web-1'), 'default');
  });
  it('an invalid nft-sync.yaml is reported with its commit', async () => {
    await rejectsWith(repo.rulesetForAgent(c.three as string, 'web-1'), 'NFTSYNC_ERR_REPO_CONFIG_INVALID', { commit: c.three, path: 'agents[0].rulset' });
  });
});

describe('listRefs', () => {
  function forEachRef(gitdir: string): Map<string, string> {
    const out = new Map<string, string>();
    // %(*objectname) peels one level only; rev-parse ^{commit} peels a tag of a tag too.
    for (const name of git(gitdir, ['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/tags']).split('\n')) {
      out.set(name, git(gitdir, ['rev-parse', `${name}^{commit}`]));
    }
    return out;
  }
  it('agrees with git for-each-ref, loose and packed', async (t) => {
    assert.deepEqual(await repo.listRefs(), forEachRef(bare));
    const clone = join(tempDir(t), 'p.git');
    git(root, ['clone', '-q', '--mirror', bare, clone]); // a mirror clone has packed refs only
    const r = await RulesetRepository.open(clone);
    assert.deepEqual(await r.listRefs(), forEachRef(clone));
    assert.equal(await r.resolveRef('v1.1'), c.two);
  });
});

describe('timings', () => {
  it('prints resolveRef + readRuleset cold and warm, listRefs vs for-each-ref', async (t) => {
    const cold = await RulesetRepository.open(bare);
    let start = process.hrtime.bigint();
    const commit = await cold.resolveRef('main');
    const resolveCold = ms(start);
    start = process.hrtime.bigint();
    await cold.readRuleset(commit, 'web');
    const readCold = ms(start);
    const n = 200;
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await cold.resolveRef('main');
    const resolveWarm = ms(start) / n;
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await cold.readRuleset(commit, 'web');
    const readWarm = ms(start) / n;
    console.log(`# resolveRef: cold ${resolveCold.toFixed(2)} ms, warm ${resolveWarm.toFixed(3)} ms; readRuleset: cold ${readCold.toFixed(2)} ms, warm ${readWarm.toFixed(4)} ms`);

    // listRefs against git for-each-ref with 500 tags, loose and then packed.
    const many = join(tempDir(t), 'many.git');
    git(root, ['clone', '-q', '--bare', bare, many]);
    git(many, ['update-ref', '--stdin'], Array.from({ length: 500 }, (_, i) => `create refs/tags/t${i} ${c.one}\n`).join(''));
    const r = await RulesetRepository.open(many);
    for (const layout of ['loose', 'packed']) {
      if (layout === 'packed') git(many, ['pack-refs', '--all', '--prune']);
      await r.listRefs();
      start = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) assert.equal((await r.listRefs()).size, 507);
      const listMs = ms(start) / 20;
      start = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) git(many, ['for-each-ref', '--format=%(refname) %(objectname) %(*objectname)']);
      const feMs = ms(start) / 20;
      console.log(`# listRefs with 507 ${layout} refs: ${listMs.toFixed(2)} ms in-process vs ${feMs.toFixed(2)} ms for git for-each-ref`);
    }
    assert.ok(resolveWarm < 5 && readWarm < 5);
  });
});

describe('RulesetRepository.primeChild', () => {
  it('a commit the element API wrote is indexed from its parent\'s index: its trees are not read from disk (a 3-5 ms read before the rollouts and agents hear of it)', async (t) => {
    const root = tempDir(t);
    const template = join(root, 'template');
    mkdirSync(join(template, 'rulesets'), { recursive: true });
    writeFileSync(join(template, 'rulesets', 'default.json'), '{"nftables":[]}\n');
    writeFileSync(join(template, 'rulesets', 'other.json'), '{"nftables":[]}\n');
    writeFileSync(join(template, 'nft-sync.yaml'), 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: other\n');
    const bare = join(root, 'rules.git');
    const { commit: parent } = await initRepository(bare, template);
    const repo = await RulesetRepository.open(bare);
    assert.deepEqual(await repo.listRulesets(parent), ['default', 'other'], 'the parent indexed');
    const config = await repo.repoConfig(parent);
    // A child with one change file for `default`, written as loose objects (git plumbing).
    const change = git(bare, ['hash-object', '-w', '--stdin'], '{"change":1}\n');
    const elements = git(bare, ['mktree'], `100644 blob ${change}\t000001.json\n`);
    const rulesetsOld = git(bare, ['rev-parse', `${parent}:rulesets`]);
    const listing = git(bare, ['ls-tree', rulesetsOld]);
    const rulesets = git(bare, ['mktree'], `${listing}\n040000 tree ${elements}\tdefault.elements\n`);
    const rootListing = git(bare, ['ls-tree', parent]).split('\n').filter((l) => !l.endsWith('\trulesets'));
    const tree = git(bare, ['mktree'], `${rootListing.join('\n')}\n040000 tree ${rulesets}\trulesets\n`);
    const child = git(bare, ['commit-tree', tree, '-p', parent, '-m', 'elements']);
    const base = git(bare, ['rev-parse', `${parent}:rulesets/default.json`]);
    repo.primeChild(child, parent, 'default', base, [{ file: '000001.json', oid: change }]);
    // Its trees gone from disk: only the primed index can answer.
    for (const id of [tree, rulesets, elements, child]) rmSync(join(bare, 'objects', id.slice(0, 2), id.slice(2)));
    assert.deepEqual(await repo.listRulesets(child), ['default', 'other']);
    assert.deepEqual(await repo.repoConfig(child), config, 'the config of the parent (its file is unchanged)');
    // Known as a commit: a ref scan that finds it at a branch's tip does not read it.
    writeFileSync(join(bare, 'refs', 'heads', 'elements'), `${child}\n`);
    assert.equal((await repo.listRefs()).get('refs/heads/elements'), child);
    // After a fold (no change files) the change files are gone from the index.
    repo.primeChild('a'.repeat(40), child, 'default', base, []);
    assert.deepEqual(await repo.listRulesets('a'.repeat(40)), ['default', 'other']);
    const folded = await repo.readRuleset('a'.repeat(40), 'default');
    assert.equal(folded.blob, base, 'served as stored, not composed with the change file of its parent');
    // A parent not indexed: nothing primed (its readers read the commit as any other).
    repo.primeChild('b'.repeat(40), 'c'.repeat(40), 'default', base, []);
    await assert.rejects(repo.listRulesets('b'.repeat(40)));
  });
});
