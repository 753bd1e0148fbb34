/**
 * Signed releases end to end: a real server on a real repository, tags signed with a real
 * ed25519 key by `git tag -s` (gpg.format=ssh), the agent (pullOnce, the daemon) checking the
 * proof and the signature itself and applying with the real nft in a throwaway namespace.
 * The "tampering server (fake)" tests are the one place with a fake: a real WireServer on the
 * real RulesetRepository with one function replaced, since the real server never alters bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runAgentDaemon } from '../../../../agent/agent-daemon.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { pullOnce } from '../../../../agent/pull-once.js';
import type { ReconcileOutcome } from '../../../../agent/reconcile/reconciler.js';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { WireServer } from '../../../../server/wire/wire-server.js';
import type { RulesetSource } from '../../../../server/git/ruleset-source.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { makeSigner, tag, type Signer } from '../../../helpers/signing-fixture.js';
import { testGitEnv } from '../../../helpers/git-fixture.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);


interface Setup {
  fx: ServerFixture;
  ns: Netns;
  state: string;
  signer: Signer;
  stranger: Signer;
  /** Commit `default.json` with `port`, tag it `name` (signed by `by`, unsigned when null), push. */
  release(name: string, port: number, by: Signer | null, opts?: { force?: boolean; date?: string }): string;
  pull(ref: string, port?: number): ReturnType<typeof pullOnce>;
  inForcePort(): number | undefined;
}

async function setup(t: TestContext): Promise<Setup> {
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'signed');
  const keys = makeTempDir(t, 'nft-sync-keys-');
  const signer = makeSigner(keys, 'release');
  const stranger = makeSigner(keys, 'stranger');
  const state = makeTempDir(t, 'nft-sync-state-');
  return {
    fx,
    ns,
    state,
    signer,
    stranger,
    release(name, port, by, opts = {}) {
      const commit = fx.commit({ 'rulesets/default.json': withPort(port) }, `port ${port}`);
      tag(fx.clone, name, by ?? undefined, { force: opts.force, date: opts.date });
      fx.git(['push', '-q', ...(opts.force ? ['-f'] : []), 'origin', 'HEAD:main', `refs/tags/${name}`]);
      return commit;
    },
    pull(ref, port = fx.port) {
      return pullOnce({ host: fx.host, port, agent: 'host-1', ref, nft: createNftRunner(ns.nftCommand), stateDir: state, logger: quietLogger, allowedSigners: signer.allowedSigners });
    },
    inForcePort() {
      const m = /tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']));
      return m ? Number(m[1]) : undefined;
    },
  };
}

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('signed releases', () => {
  test('a tag signed by an allowed key is applied; unsigned, unknown-key and lightweight tags are refused and the previous ruleset stays', async (t) => {
    const s = await setup(t);
    const v1 = s.release('v1', 2201, s.signer);
    const out = await s.pull('v1');
    assert.equal(out.kind, 'applied');
    assert.equal(out.commit, v1);
    assert.equal(s.inForcePort(), 2201);

    s.release('v2-unsigned', 2202, null);
    await refusedWith(s.pull('v2-unsigned'), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    s.release('v2-stranger', 2203, s.stranger);
    await refusedWith(s.pull('v2-stranger'), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    s.fx.git(['tag', 'v2-light']);
    s.fx.git(['push', '-q', 'origin', 'refs/tags/v2-light']);
    await refusedWith(s.pull('v2-light'), 'NFTSYNC_ERR_PROOF_UNAVAILABLE');
    await refusedWith(s.pull('main'), 'NFTSYNC_ERR_PROOF_UNAVAILABLE');
    assert.equal(s.inForcePort(), 2201, 'the signed v1 stays in force');

    // The same bytes, now under a properly signed tag, are applied (a refused tag does not
    // mark the ruleset as failed).
    s.fx.git(['checkout', '-q', 'v2-unsigned']);
    tag(s.fx.clone, 'v2', s.signer);
    s.fx.git(['push', '-q', 'origin', 'refs/tags/v2']);
    assert.equal((await s.pull('v2')).kind, 'applied');
    assert.equal(s.inForcePort(), 2202);
  });

  test('--track-tags with --allowed-signers applies the highest signed release and refuses an unsigned higher one', async (t) => {
    const s = await setup(t);
    s.release('v1.0.0', 2401, s.signer);
    s.release('v1.1.0', 2402, s.signer);
    const common = { host: s.fx.host, port: s.fx.port, agent: 'host-1', ref: 'v1.*', track: true, nft: createNftRunner(s.ns.nftCommand), stateDir: s.state, logger: quietLogger, allowedSigners: s.signer.allowedSigners };
    const first = await pullOnce(common);
    assert.equal(s.inForcePort(), 2402);
    assert.equal(first.commit, s.fx.git(['rev-parse', 'v1.1.0^{commit}']));
    s.release('v1.2.0', 2403, null);
    await refusedWith(pullOnce(common), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    assert.equal(s.inForcePort(), 2402);
    s.release('v1.3.0', 2404, s.stranger);
    await refusedWith(pullOnce(common), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    s.release('v1.4.0', 2405, s.signer);
    await pullOnce(common);
    assert.equal(s.inForcePort(), 2405);
  });

  test('the daemon follows a moving signed tag and refuses a re-tag by an unknown key', async (t) => {
    const s = await setup(t);
    s.release('stable', 2301, s.signer);
    const outcomes: ReconcileOutcome[] = [];
    const ac = new AbortController();
    let wake = () => {};
    const done = runAgentDaemon(
      {
        host: s.fx.host, port: s.fx.port, agent: 'host-1', ref: 'stable', nft: createNftRunner(s.ns.nftCommand), stateDir: s.state,
        logger: quietLogger, allowedSigners: s.signer.allowedSigners, backoff: { baseMs: 50, capMs: 200 },
        onOutcome: (o) => (outcomes.push(o), wake()),
      },
      ac.signal,
    );
    t.after(async () => (ac.abort(), await done));
    const until = async (pred: (o: ReconcileOutcome) => boolean) => {
      const deadline = Date.now() + 5000;
      while (!outcomes.some(pred)) {
        if (Date.now() > deadline) assert.fail(`no matching outcome: ${JSON.stringify(outcomes.map((o) => o.kind))}`);
        await new Promise<void>((r) => ((wake = r), setTimeout(r, 200)));
      }
    };
    await until((o) => o.kind === 'applied');
    assert.equal(s.inForcePort(), 2301);
    s.release('stable', 2302, s.signer, { force: true });
    await until((o) => o.kind === 'applied' && s.inForcePort() === 2302);
    s.release('stable', 2303, s.stranger, { force: true });
    await until((o) => o.kind === 'failed' && o.error.code === 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    assert.equal(s.inForcePort(), 2302);
  });
});

/** A real WireServer on the real repository, with some of its source's functions replaced. */
async function tamperingServer(t: TestContext, fx: ServerFixture, replace: (repo: RulesetRepository) => Partial<RulesetSource>): Promise<number> {
  const repo = await RulesetRepository.open(fx.bare);
  const source: RulesetSource = {
    resolveRef: (r) => repo.resolveRef(r),
    readRuleset: (c, n) => repo.readRuleset(c, n),
    rulesetForAgent: (c, a) => repo.rulesetForAgent(c, a),
    readRawObject: (o) => repo.readRawObject(o),
    tagObjectId: (r) => repo.tagObjectId(r),
    resolveTrackedTag: (p) => repo.resolveTrackedTag(p),
    ...replace(repo),
  };
  const wire = new WireServer({ source, logger: quietLogger });
  t.after(() => wire.close());
  return (await wire.listen('127.0.0.1', 0)).port;
}

const gitIn = (cwd: string, args: string[], input?: string) => execFileSync('git', args, { cwd, env: testGitEnv(), input, encoding: 'utf8' }).trim();

describe('signed releases against a tampering server (fake)', () => {
  test('tampering server (fake): altering the blob, the tree, the commit or the tag is refused; v1 stays in force', async (t) => {
    const s = await setup(t);
    s.release('v1', 2401, s.signer);
    assert.equal((await s.pull('v1')).kind, 'applied');
    const v2 = s.release('v2', 2402, s.signer);
    const rev = (spec: string) => gitIn(s.fx.bare, ['rev-parse', spec]);
    const ids = { tag: rev('refs/tags/v2'), commit: v2, tree: rev('v2^{tree}'), rulesets: rev('v2:rulesets') };
    const evil = Buffer.from(withPort(6666));
    const alter = (repo: RulesetRepository, id: string, fn: (b: Buffer) => Buffer) => ({
      readRawObject: async (oid: string) => {
        const o = await repo.readRawObject(oid);
        return oid === id ? { ...o, content: fn(o.content) } : o;
      },
    });
    const flip = (b: Buffer) => Buffer.from(b.toString('latin1').replace('port', 'PORT').replace('release', 'Release'), 'latin1');
    const cases: Array<[string, (repo: RulesetRepository) => Partial<RulesetSource>, string]> = [
      // Other bytes with their own, correct blob id: the tree names another blob.
      ['blob (id recomputed)', (repo) => ({ readRuleset: async (c, n) => (await repo.readRuleset(c, n), { blob: gitBlobId(evil), bytes: evil }) }), 'NFTSYNC_ERR_VERIFY_CHAIN'],
      // Other bytes under the real blob id: the agent's own hash of the bytes differs.
      ['blob (id kept)', (repo) => ({ readRuleset: async (c, n) => ({ blob: (await repo.readRuleset(c, n)).blob, bytes: evil }) }), 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH'],
      ['rulesets tree', (repo) => alter(repo, ids.rulesets, (b) => { const c = Buffer.from(b); c[c.length - 1]! ^= 1; return c; }), 'NFTSYNC_ERR_VERIFY_CHAIN'],
      ['root tree', (repo) => alter(repo, ids.tree, (b) => Buffer.from(b.toString('latin1').replace('README', 'READMe'), 'latin1')), 'NFTSYNC_ERR_VERIFY_CHAIN'],
      ['commit', (repo) => alter(repo, ids.commit, flip), 'NFTSYNC_ERR_VERIFY_CHAIN'],
      ['tag', (repo) => alter(repo, ids.tag, flip), 'NFTSYNC_ERR_VERIFY_CHAIN'],
    ];
    for (const [what, replace, code] of cases) {
      const port = await tamperingServer(t, s.fx, replace);
      await t.test(what, () => refusedWith(s.pull('v2', port), code));
      assert.equal(s.inForcePort(), 2401, `${what}: v1 stays in force`);
    }
    // A consistent forgery: a new tag object with v2's signature block that points to another
    // commit (port 6666), written into the repository with its correct id; the server hands it
    // out for v2. Every hash checks out; the signature does not.
    const evilCommit = s.fx.forceIntoBare({ 'rulesets/default.json': evil.toString() }, 'evil');
    const forged = readRawTag(s.fx.bare, ids.tag).replace(`object ${v2}`, `object ${evilCommit}`);
    const forgedId = gitIn(s.fx.bare, ['hash-object', '-t', 'tag', '-w', '--stdin'], forged);
    const port = await tamperingServer(t, s.fx, () => ({ tagObjectId: async () => forgedId }));
    await refusedWith(s.pull('v2', port), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    assert.equal(s.inForcePort(), 2401);
    // The honest server still serves v2, and it applies.
    assert.equal((await s.pull('v2')).kind, 'applied');
    assert.equal(s.inForcePort(), 2402);
  });
});

describe('signed releases: rollback', () => {
  test('tampering server (fake): replaying an older signed tag of the same name is refused', async (t) => {
    const s = await setup(t);
    s.release('stable', 2501, s.signer, { date: '2026-01-01T00:00:00Z' });
    const old = gitIn(s.fx.bare, ['rev-parse', 'refs/tags/stable']);
    s.release('stable', 2502, s.signer, { force: true, date: '2026-06-01T00:00:00Z' });
    assert.equal((await s.pull('stable')).kind, 'applied');
    assert.equal(s.inForcePort(), 2502);
    const port = await tamperingServer(t, s.fx, () => ({ tagObjectId: async () => old }));
    await refusedWith(s.pull('stable', port), 'NFTSYNC_ERR_VERIFY_REPLAY');
    assert.equal(s.inForcePort(), 2502);
    // A newer signed release still goes through.
    s.release('stable', 2503, s.signer, { force: true, date: '2026-07-01T00:00:00Z' });
    assert.equal((await s.pull('stable')).kind, 'applied');
    assert.equal(s.inForcePort(), 2503);
  });
});

describe('signed releases: the release record is committed with state.json', () => {
  test('tampering server (fake): a crash that left the previous release record behind opens no replay window', async (t) => {
    const s = await setup(t);
    s.release('stable', 2551, s.signer, { date: '2026-01-01T00:00:00Z' });
    const old = gitIn(s.fx.bare, ['rev-parse', 'refs/tags/stable']);
    assert.equal((await s.pull('stable')).kind, 'applied');
    const stateFile = join(s.state, 'state.json');
    const recordOfOld = (JSON.parse(readFileSync(stateFile, 'utf8')) as { release?: unknown }).release ?? JSON.parse(readFileSync(join(s.state, 'release.json'), 'utf8'));
    s.release('stable', 2552, s.signer, { force: true, date: '2026-06-01T00:00:00Z' });
    assert.equal((await s.pull('stable')).kind, 'applied');
    // A crash after the new state.json and before a separate record write (the order of writes
    // before the record moved into state.json) leaves the old release's record on disk.
    writeFileSync(join(s.state, 'release.json'), JSON.stringify(recordOfOld));
    // The server replays the older signed tag object: the record in force must still be the new one.
    const port = await tamperingServer(t, s.fx, () => ({ tagObjectId: async () => old }));
    await refusedWith(s.pull('stable', port), 'NFTSYNC_ERR_VERIFY_REPLAY');
    assert.equal(s.inForcePort(), 2552);
  });
});

function readRawTag(bare: string, id: string): string {
  return gitIn(bare, ['cat-file', 'tag', id]) + '\n';
}
