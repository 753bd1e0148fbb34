/**
 * The element API on a real server: a real bare repository, the real push validator (loading
 * each result into a scratch namespace with the real nft when root), the git CLI's
 * compare-and-swap under parallel requests and racing pushes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { changeSetElements } from '../../../../server/git/set-elements.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { composeRuleset, composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'element-token-0123456789abcdef';
const RULESET = {
  nftables: [
    { table: { family: 'inet', name: 'filter' } },
    { set: { family: 'inet', table: 'filter', name: 'blocklist', type: 'ipv4_addr', elem: ['198.18.0.1'] } },
    { set: { family: 'inet', table: 'filter', name: 'temp', type: 'ipv4_addr', flags: ['timeout'] } },
    { set: { family: 'inet', table: 'filter', name: 'nets', type: 'ipv4_addr', flags: ['interval'] } },
    { set: { family: 'inet', table: 'filter', name: 'states', type: 'ct_state' } },
    { set: { family: 'inet', table: 'filter', name: 'v6nets', type: 'ipv6_addr', flags: ['interval'] } },
    { set: { family: 'inet', table: 'filter', name: 'ports', type: 'inet_service', flags: ['interval'] } },
    { set: { family: 'inet', table: 'filter', name: 'pairs', type: ['ipv4_addr', 'inet_service'] } },
    { set: { family: 'inet', table: 'filter', name: 'macs', type: 'ether_addr' } },
    { set: { family: 'inet', table: 'filter', name: 'protos', type: 'inet_proto' } },
    { set: { family: 'inet', table: 'filter', name: 'marks', type: 'mark' } },
    { set: { family: 'inet', table: 'filter', name: 'ifaces', type: 'ifname' } },
    { map: { family: 'inet', table: 'filter', name: 'verdicts', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', { accept: null }]] } },
    { chain: { family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { rule: { family: 'inet', table: 'filter', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blocklist' } }, { drop: null }] } },
  ],
};

interface Answer {
  status: number;
  body: { commit?: string; branch?: string; added?: number; deleted?: number; error?: { code: string; message: string; data?: Record<string, unknown> } };
}

async function start(t: TestContext) {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} alice\n`) });
  f.push({ 'rulesets/edge.json': renderRuleset(RULESET) }, 'edge ruleset with sets');
  const url = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const post = async (path: string, body: unknown, token: string | undefined = TOKEN): Promise<Answer> => {
    const res = await fetch(`${url}/api/v1/rulesets/edge/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  // The effective ruleset: the base with its element change files applied.
  const file = (ref = 'main') => {
    const names = f.git(['ls-tree', '--name-only', ref, 'rulesets/edge.elements/'], f.bare).split('\n').filter((n) => n !== '');
    const show = (path: string) => f.git(['show', `${ref}:${path}`], f.bare);
    return composeRuleset({ path: 'rulesets/edge.json', bytes: show('rulesets/edge.json') }, names.map((path) => ({ path, bytes: show(path) }))) as unknown as { nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> };
  };
  const elems = (name: string, ref = 'main'): unknown[] => {
    const item = file(ref).nftables.find((i) => (i.set ?? i.map)?.name === name);
    return (item?.set ?? item?.map)?.elem ?? [];
  };
  return { f, url, post, elems, file, head: () => f.git(['rev-parse', 'main'], f.bare) };
}

describe('POST /api/v1/rulesets/NAME/sets/FAMILY/TABLE/SET/elements', () => {
  test('add and delete: one commit each, authored by the token\'s owner, git log -p shows each element; repeating changes nothing', async (t) => {
    const { f, url, post, elems, file, head } = await start(t);
    const before = head();
    const a = await post('sets/inet/filter/blocklist/elements', { add: ['198.18.0.2', '198.18.0.3', '198.18.0.1'] });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.deepEqual({ ...a.body, commit: undefined }, { commit: undefined, branch: 'main', added: 2, deleted: 0, kind: 'set', previous: before });
    assert.equal(head(), a.body.commit, 'the commit is on the branch when the answer comes');
    assert.deepEqual(elems('blocklist'), ['198.18.0.1', '198.18.0.2', '198.18.0.3'], 'new elements after the base\'s');
    assert.equal(f.git(['log', '-1', '--format=%an|%cn', 'main'], f.bare), 'alice|nft-sync');
    // The change is a change file holding what changed, one element a line; the base is untouched.
    assert.equal(f.git(['diff', '--name-status', before, 'main'], f.bare), 'A\trulesets/edge.elements/000001.json');
    const patch = f.git(['log', '-1', '-p', '--format=%s', 'main', '--', 'rulesets/edge.elements'], f.bare);
    assert.match(patch, /^edge: set inet filter blocklist: \+2 -0 elements/);
    assert.match(patch, /^\+  "set": \{"family":"inet","table":"filter","name":"blocklist"\},\n\+  "add": \[\n\+    "198\.18\.0\.2",\n\+    "198\.18\.0\.3"\n\+  \],\n\+  "delete": \[\]$/m, patch);
    // What agents and the API read: the composed ruleset, its blob id that of its bytes.
    const raw = await fetch(`${url}/api/v1/rulesets/edge?raw=1`);
    const bytes = Buffer.from(await raw.arrayBuffer());
    assert.equal(raw.headers.get('etag'), `"${gitBlobId(bytes)}"`);
    assert.equal(bytes.toString(), renderRuleset(file()));

    const d = await post('sets/inet/filter/blocklist/elements', { delete: ['198.18.0.2', '198.18.0.99'] });
    assert.equal(d.status, 201);
    assert.deepEqual([d.body.added, d.body.deleted], [0, 1]);
    assert.deepEqual(elems('blocklist'), ['198.18.0.1', '198.18.0.3']);
    assert.match(f.git(['log', '-1', '-p', 'main'], f.bare), /^\+{3} b\/rulesets\/edge\.elements\/000002\.json\n[^]*"delete": \[\n\+    "198\.18\.0\.2"\n/m);

    // The API's diff of the change names the elements added and removed.
    const diff = (await (await fetch(`${url}/api/v1/diff?from=${before}&to=${d.body.commit}&ruleset=edge`)).json()) as { rulesets: { changed: Array<{ diff: { elements: unknown } }> } };
    assert.deepEqual(diff.rulesets.changed[0]!.diff.elements, {
      added: [{ set: 'inet filter blocklist', element: '198.18.0.3' }],
      removed: [],
    });
    const again = await post('sets/inet/filter/blocklist/elements', { add: ['198.18.0.3'], delete: ['198.18.0.2'] });
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.commit, again.body.added, again.body.deleted], [d.body.commit, 0, 0]);
    assert.equal(head(), d.body.commit, 'no empty commit');
  });

  test('timeouts only where the set has the timeout flag; maps take [key, value] and delete by key', async (t) => {
    const { post, elems } = await start(t);
    const ok = await post('sets/inet/filter/temp/elements', { add: [{ elem: { val: '198.18.0.7', timeout: 3600 } }] });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(elems('temp'), [{ elem: { val: '198.18.0.7', timeout: 3600 } }]);
    const refused = await post('sets/inet/filter/blocklist/elements', { add: [{ elem: { val: '198.18.0.7', timeout: 3600 } }] });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error!.code, 'NFTSYNC_ERR_ELEMENT_INVALID');
    assert.match(refused.body.error!.message, /198\.18\.0\.7.*needs a set with flags timeout/);

    const m = await post('maps/inet/filter/verdicts/elements', { add: [['198.18.0.2', 'drop'], ['198.18.0.1', { drop: null }]] });
    assert.equal(m.status, 201, JSON.stringify(m.body));
    assert.deepEqual([m.body.added, (m.body as { kind?: string }).kind], [2, 'map']);
    assert.deepEqual(elems('verdicts'), [['198.18.0.1', { drop: null }], ['198.18.0.2', { drop: null }]]);
    const viaSets = await post('sets/inet/filter/verdicts/elements', { delete: ['198.18.0.1'] });
    assert.equal(viaSets.status, 201, 'the sets path finds a map too');
    assert.deepEqual(elems('verdicts'), [['198.18.0.2', { drop: null }]]);
    const noValue = await post('maps/inet/filter/verdicts/elements', { add: ['198.18.0.9'] });
    assert.match(noValue.body.error!.message, /"198\.18\.0\.9" is not a map element: write \[KEY, VALUE\]/);

    const nets = await post('sets/inet/filter/nets/elements', { add: ['198.18.4.0/24', { range: ['198.18.8.0', '198.18.8.9'] }] });
    assert.equal(nets.status, 201, JSON.stringify(nets.body));
    assert.deepEqual(elems('nets'), [{ prefix: { addr: '198.18.4.0', len: 24 } }, { range: ['198.18.8.0', '198.18.8.9'] }]);
  });

  test('each type, written loosely, is stored as nft lists it: the validator\'s load and read-back accept every change', async (t) => {
    const { post, elems } = await start(t);
    const cases: Array<[string, unknown[], unknown[]]> = [
      ['v6nets', ['FD00:0:0:0:0:0:0:1', 'fd00:1::/64', { range: ['fd00:2::1', 'fd00:2::9'] }, '::ffff:198.18.0.1'], ['fd00::1', { prefix: { addr: 'fd00:1::', len: 64 } }, { range: ['fd00:2::1', 'fd00:2::9'] }, '::ffff:198.18.0.1']],
      ['ports', ['22', { range: ['1000', 2000] }], [22, { range: [1000, 2000] }]],
      ['pairs', [{ concat: ['198.18.0.1', '22'] }], [{ concat: ['198.18.0.1', 22] }]],
      ['macs', ['02:00:00:00:00:AB'], ['02:00:00:00:00:ab']],
      ['protos', [6, 'udp'], ['tcp', 'udp']],
      ['marks', ['0x10', 7], [16, 7]],
      ['ifaces', ['eth0'], ['eth0']],
    ];
    for (const [set, add, stored] of cases) {
      const r = await post(`sets/inet/filter/${set}/elements`, { add });
      assert.equal(r.status, 201, `${set}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(elems(set), stored, set);
    }
  });

  test('bad elements, sets and requests are refused naming what is wrong; nothing is committed', async (t) => {
    const { post, head } = await start(t);
    const before = head();
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      ['sets/inet/filter/blocklist/elements', { add: ['198.18.0.2', '198.18.0.300'] }, 422, 'NFTSYNC_ERR_ELEMENT_INVALID', /"198\.18\.0\.300" is not a valid ipv4_addr/],
      ['sets/inet/filter/blocklist/elements', { add: ['198.18.0.0/24'] }, 422, 'NFTSYNC_ERR_ELEMENT_INVALID', /"198\.18\.0\.0\/24" is an interval, and the set has no interval flag/],
      ['sets/inet/filter/blocklist/elements', { delete: ['fd00::1'] }, 422, 'NFTSYNC_ERR_ELEMENT_INVALID', /"fd00::1" is not a valid ipv4_addr/],
      ['sets/inet/filter/nope/elements', { add: ['198.18.0.2'] }, 404, 'NFTSYNC_ERR_SET_NOT_FOUND', /no set or map inet\/filter\/nope/],
      ['sets/inet/filter/blocklist/elements', { put: ['198.18.0.2'] }, 400, 'NFTSYNC_ERR_API_INVALID_REQUEST', /put/],
      ['sets/inet/filter/blocklist/elements?branch=nope', { add: ['198.18.0.2'] }, 404, 'NFTSYNC_ERR_REF_NOT_FOUND', /no branch nope/],
    ];
    for (const [path, body, status, code, message] of cases) {
      const r = await post(path, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error!.code, code);
      assert.match(r.body.error!.message, message);
    }
    const noToken = await post('sets/inet/filter/blocklist/elements', { add: ['198.18.0.2'] }, '');
    assert.equal(noToken.status, 401);
    // nft itself refuses what this server does not read (a ct_state set): the push validator says so.
    const nft = await post('sets/inet/filter/states/elements', { add: ['bogus'] });
    if (process.getuid?.() === 0) {
      assert.equal(nft.status, 422, JSON.stringify(nft.body));
      assert.equal(nft.body.error!.code, 'NFTSYNC_ERR_PUSH_REFUSED');
      assert.match(nft.body.error!.message, /rulesets\/edge\.json: NFTSYNC_ERR_NFT_APPLY: .*conntrack state/);
    }
    assert.equal(head(), before);
  });

  test('?branch= changes another branch and leaves main alone', async (t) => {
    const { f, post, elems, head } = await start(t);
    f.git(['branch', 'staging', 'main'], f.bare);
    const main = head();
    const r = await post('sets/inet/filter/blocklist/elements?branch=staging', { add: ['198.18.0.5'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.branch, 'staging');
    assert.equal(f.git(['rev-parse', 'staging'], f.bare), r.body.commit);
    assert.deepEqual(elems('blocklist', 'staging'), ['198.18.0.1', '198.18.0.5']);
    assert.equal(head(), main);
  });

  test('10 parallel requests, each adding its own elements: every element is there after, one commit each', async (t) => {
    const { f, post, elems, head } = await start(t);
    const before = head();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post('sets/inet/filter/blocklist/elements', { add: [`198.18.1.${i}`, `198.18.2.${i}`] })));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    const want = ['198.18.0.1', ...Array.from({ length: 10 }, (_, i) => [`198.18.1.${i}`, `198.18.2.${i}`]).flat()].sort();
    assert.deepEqual([...(elems('blocklist') as string[])].sort(), want);
    assert.equal(f.git(['rev-list', '--count', `${before}..main`], f.bare), '10');
  });
});

describe('changeSetElements: change files and folding', () => {
  const SET = { family: 'inet', table: 'filter', name: 'blocklist' };
  const changeFiles = (f: ServerFixture, ref = 'main') => f.git(['ls-tree', '--name-only', ref, 'rulesets/edge.elements/'], f.bare).split('\n').filter((n) => n !== '');

  test('the API\'s answer of the change that folds says how many change files it folded; the others carry no folded', async (t) => {
    const { post } = await start(t);
    let answer: Answer['body'] & { folded?: number } = {};
    let plain = 0;
    for (let i = 0; answer.folded === undefined && i < 20; i++) {
      const r = await post('sets/inet/filter/blocklist/elements', { add: [`198.18.9.${i}`] });
      assert.equal(r.status, 201);
      answer = r.body;
      if (answer.folded === undefined) plain++;
    }
    assert.equal(answer.folded, plain + 1, 'every change file so far, this one included');
  });

  test('past an eighth of the base\'s bytes, the change folds every change file into the base, in the same commit', async (t) => {
    const { f, elems, file } = await start(t);
    const base = f.git(['cat-file', '-s', 'main:rulesets/edge.json'], f.bare);
    const added: string[] = [];
    let folded = 0;
    for (let i = 0; folded === 0 && i < 20; i++) {
      added.unshift(`198.18.9.${i}`);
      const r = await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: SET, owner: 'alice', add: [added[0]!], nft: 'off' });
      folded = r.folded ?? 0;
      if (folded === 0) assert.equal(changeFiles(f).length, i + 1);
    }
    assert.ok(folded >= 2, `folded ${folded} (base ${base} bytes)`);
    assert.deepEqual(changeFiles(f), [], 'the change files are gone');
    assert.match(f.git(['log', '-1', '--format=%B', 'main'], f.bare), new RegExp(`Folded ${folded} element changes \\(this one included\\) into rulesets/edge\\.json`));
    assert.deepEqual(new Set(elems('blocklist')), new Set([...added, '198.18.0.1']));
    // The new base is the effective ruleset as agents had it, rendered one element a line.
    assert.equal(f.git(['show', 'main:rulesets/edge.json'], f.bare), renderRuleset(file()).trimEnd());
    // And the next change starts a new change file.
    await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: SET, owner: 'alice', delete: ['198.18.0.1'], nft: 'off' });
    assert.deepEqual(changeFiles(f), ['rulesets/edge.elements/000001.json']);
  });

  test('the whole path\'s fold stores the effective text of every change file, this one\'s included, byte for byte (what the fast path and nft-sync set fold store, and agents hold): new elements in the order of their last change (review)', async (t) => {
    const { f } = await start(t);
    const TEMP = { family: 'inet', table: 'filter', name: 'temp' };
    const show = (path: string, ref = 'main') => f.git(['show', `${ref}:${path}`], f.bare);
    const a = await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: TEMP, owner: 'alice', add: [{ elem: { val: '198.18.5.1', timeout: 60 } }, { elem: { val: '198.18.5.2', timeout: 60 } }], nft: 'off' });
    assert.equal(a.folded ?? 0, 0);
    const before = a.commit;
    const names = changeFiles(f);
    // 198.18.5.1 again with another timeout, and enough new elements to fold.
    const more = Array.from({ length: 40 }, (_, i) => ({ elem: { val: `198.18.6.${i}`, timeout: 60 } }));
    const b = await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: TEMP, owner: 'alice', add: [{ elem: { val: '198.18.5.1', timeout: 120 } }, ...more], nft: 'off' });
    assert.ok((b.folded ?? 0) >= 2, `folded ${b.folded}`);
    const change = renderChangeFile(TEMP, [{ elem: { val: '198.18.5.1', timeout: 120 } }, ...more], []);
    const want = composeRulesetText({ path: 'rulesets/edge.json', bytes: show('rulesets/edge.json', before) }, [...names.map((n) => ({ path: n, bytes: show(n, before) })), { path: 'new', bytes: change }]);
    assert.equal(`${show('rulesets/edge.json')}\n`, want.toString());
  });

  test('the 65th change file folds (elementLog.foldMaxFiles = 64) even when they are small next to the base', async (t) => {
    const { f, elems } = await start(t);
    const many = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: SET, owner: 'alice', add: many, nft: 'off' });
    assert.deepEqual(changeFiles(f), [], 'a change as big as the base folds at once');
    for (let i = 0; i < 64; i++) {
      const r = await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: SET, owner: 'alice', add: [`198.18.7.${i}`], nft: 'off' });
      assert.equal(r.folded ?? 0, 0);
    }
    assert.equal(changeFiles(f).length, 64);
    assert.equal(changeFiles(f).at(-1), 'rulesets/edge.elements/000064.json');
    const r = await changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: SET, owner: 'alice', delete: ['198.18.7.0'], nft: 'off' });
    assert.equal(r.folded, 65);
    assert.deepEqual(changeFiles(f), []);
    assert.equal(elems('blocklist').length, 10_000 + 1 + 63);
  });
});

describe('changeSetElements: compare-and-swap', () => {
  test('a push landing between building and moving the ref: the change is made again on the new tip, both kept', async (t) => {
    const { f, elems } = await start(t);
    const other = join(f.dir, 'other');
    execFileSync('git', ['clone', '-q', f.bare, other], { env: testGitEnv() });
    let pushed = '';
    const r = await changeSetElements({
      gitdir: f.bare, branch: 'main', ruleset: 'edge', set: { family: 'inet', table: 'filter', name: 'blocklist' }, owner: 'alice', add: ['198.18.0.9'],
      beforeUpdate(attempt) {
        if (attempt !== 1) return;
        const git = (args: string[]) => execFileSync('git', args, { cwd: other, env: testGitEnv(), encoding: 'utf8' }).trim();
        const text = git(['show', 'HEAD:rulesets/edge.json']).replace('"198.18.0.1"', '"198.18.0.8",\n          "198.18.0.1"');
        execFileSync('tee', [join(other, 'rulesets/edge.json')], { input: text, stdio: ['pipe', 'ignore', 'inherit'] });
        git(['commit', '-qam', 'racing push adds 198.18.0.8']);
        git(['push', '-q', 'origin', 'HEAD:main']);
        pushed = git(['rev-parse', 'HEAD']);
      },
    });
    assert.equal(r.attempts, 2, 'the first compare-and-swap lost and was retried');
    assert.equal(r.previous, pushed);
    assert.deepEqual(elems('blocklist'), ['198.18.0.8', '198.18.0.1', '198.18.0.9'], 'the push\'s element and this change\'s both there');
  });

  test('10 writers at once without the server\'s queue (as 10 servers on one repository): every element is there after', async (t) => {
    const { f, elems, head } = await start(t);
    const before = head();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      changeSetElements({ gitdir: f.bare, branch: 'main', ruleset: 'edge', set: { family: 'inet', table: 'filter', name: 'blocklist' }, owner: `w${i}`, add: [`198.18.3.${i}`], maxAttempts: 20, nft: 'off' })));
    t.diagnostic(`attempts: ${results.map((r) => r.attempts).join(', ')}`);
    assert.ok(results.some((r) => r.attempts > 1), 'some compare-and-swap was lost and retried');
    assert.deepEqual([...(elems('blocklist') as string[])].sort(), ['198.18.0.1', ...Array.from({ length: 10 }, (_, i) => `198.18.3.${i}`)].sort());
    assert.equal(f.git(['rev-list', '--count', `${before}..main`], f.bare), '10');
  });

  test('the branch moving on every attempt: ELEMENTS_CONFLICT (retryable), nothing committed', async (t) => {
    const { f, head } = await start(t);
    const moves: string[] = [];
    await assert.rejects(
      changeSetElements({
        gitdir: f.bare, branch: 'main', ruleset: 'edge', set: { family: 'inet', table: 'filter', name: 'blocklist' }, owner: 'alice', add: ['198.18.0.9'], maxAttempts: 3, nft: 'off',
        beforeUpdate() {
          moves.push(f.git(['commit-tree', `${head()}^{tree}`, '-p', head(), '-m', 'move'], f.bare));
          f.git(['update-ref', 'refs/heads/main', moves.at(-1)!], f.bare);
        },
      }),
      (err: { code: string; retryable: boolean }) => err.code === 'NFTSYNC_ERR_ELEMENTS_CONFLICT' && err.retryable,
    );
    assert.equal(head(), moves.at(-1));
  });
});
