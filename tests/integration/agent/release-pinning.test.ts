/**
 * A signed release pins what the agent asked for (issue 7 point 5). A real server on a real
 * repository, tags signed with a real key, the agent (pullOnce) applying with the real nft in a
 * throwaway namespace, and between them a man in the middle (fake peer, tests/helpers/
 * mitm-proxy.ts: real sockets, real frames) that rewrites the request or the answer. Whatever it
 * does, the agent refuses with NFTSYNC_ERR_VERIFY_CHAIN and the ruleset in force stays.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createNftRunner } from '../../../host/nft-runner.js';
import { pullOnce, type PullOptions } from '../../../agent/pull-once.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { startMitmProxy, type Intercepted, type MitmScript } from '../../helpers/mitm-proxy.js';
import { createNetns, type Netns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../helpers/server-fixture.js';
import { makeSigner, tag, type Signer } from '../../helpers/signing-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);
/** web-* agents get rulesets/web.json; everyone else default.json. */
const MAPPING = 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n';
const DEFAULT_PORT = 2601;
const WEB_PORT = 2602;

interface Setup {
  fx: ServerFixture;
  ns: Netns;
  signer: Signer;
  /** pullOnce as agent `agent` through `port` (the server's own by default), one state dir per setup. */
  pull(opts: Partial<PullOptions> & { port?: number }): ReturnType<typeof pullOnce>;
  inForcePort(): number | undefined;
  /** A man in the middle in front of the real server, running `script`. */
  mitm(script: MitmScript): Promise<number>;
}

async function setup(t: TestContext): Promise<Setup> {
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'pin');
  const dir = makeTempDir(t, 'nft-sync-pin-');
  const signer = makeSigner(dir, 'release');
  // Two signed releases; v1 and v2 both carry rulesets default and web and the mapping.
  for (const [name, delta] of [['v1', 0], ['v2', 10]] as const) {
    fx.commit({ 'rulesets/default.json': withPort(DEFAULT_PORT + delta), 'rulesets/web.json': withPort(WEB_PORT + delta), 'nft-sync.yaml': MAPPING }, name);
    tag(fx.clone, name, signer);
    fx.git(['push', '-q', 'origin', 'HEAD:main', `refs/tags/${name}`]);
  }
  const state = join(dir, 'state');
  return {
    fx,
    ns,
    signer,
    pull: ({ port = fx.port, ...opts }) =>
      pullOnce({ host: fx.host, port, agent: 'db-1', ref: 'v1', nft: createNftRunner(ns.nftCommand), stateDir: state, logger: quietLogger, allowedSigners: signer.allowedSigners, ...opts }),
    inForcePort() {
      const m = /tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']));
      return m ? Number(m[1]) : undefined;
    },
    mitm: (script) => startMitmProxy(t, { host: fx.host, port: fx.port }, script),
  };
}

async function refusedWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message ?? '', message);
    return true;
  });
}

const onFetch = (fn: (m: Record<string, unknown>) => void) => (m: Intercepted) => void (m.message.type === 'fetch' && fn(m.message));
const onRuleset = (fn: (m: Intercepted) => void) => (m: Intercepted) => void (m.message.type === 'ruleset' && fn(m));

/** The answer with its last proof object (the nft-sync.yaml blob) replaced by `yaml`, or dropped. */
function replaceConfigBlob(m: Intercepted, yaml: Buffer | undefined): void {
  const proof = m.message.proof as Array<{ type: string; id: string; size: number }>;
  const last = proof.at(-1)!;
  assert.equal(last.type, 'blob', 'the honest answer carries nft-sync.yaml last');
  const kept = m.body!.subarray(0, m.body!.length - last.size);
  if (yaml === undefined) {
    m.message.proof = proof.slice(0, -1);
    m.body = kept;
  } else {
    m.message.proof = [...proof.slice(0, -1), { type: 'blob', id: gitBlobId(yaml), size: yaml.length }];
    m.body = Buffer.concat([kept, yaml]);
  }
}

describe('a signed release pins what the agent asked for (man in the middle: fake peer)', () => {
  test('through an honest relay, the agent that names no ruleset checks the signed nft-sync.yaml and applies its own', async (t) => {
    const s = await setup(t);
    let sawConfig = false;
    const port = await s.mitm({ toAgent: onRuleset((m) => void (sawConfig = (m.message.proof as Array<{ type: string }>).some((p) => p.type === 'blob'))) });
    assert.equal((await s.pull({ port, agent: 'web-1' })).ruleset, 'web');
    assert.equal(s.inForcePort(), WEB_PORT);
    assert.ok(sawConfig, 'the proof carried nft-sync.yaml');
  });

  test('rewriting the ruleset in the request (--ruleset given) is refused; nothing applied', async (t) => {
    const s = await setup(t);
    await s.pull({ ruleset: 'default' });
    assert.equal(s.inForcePort(), DEFAULT_PORT);
    const askWeb = onFetch((f) => (f.ruleset = 'web'));
    // Only the request rewritten: the answer says web, the agent asked for default.
    await refusedWith(s.pull({ port: await s.mitm({ toServer: askWeb }), ref: 'v2', ruleset: 'default' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /ruleset web, but the agent asked for default/);
    // Both rewritten: the proof is walked to default.json, whose blob is not the one served.
    const port = await s.mitm({ toServer: askWeb, toAgent: onRuleset((m) => (m.message.ruleset = 'default')) });
    await refusedWith(s.pull({ port, ref: 'v2', ruleset: 'default' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /rulesets\/default\.json is blob/);
    assert.equal(s.inForcePort(), DEFAULT_PORT, 'v1 default stays in force');
  });

  test('adding a ruleset to the request of an agent that names none is refused: the signed nft-sync.yaml gives it another', async (t) => {
    const s = await setup(t);
    await s.pull({});
    assert.equal(s.inForcePort(), DEFAULT_PORT);
    const askWeb = onFetch((f) => (f.ruleset = 'web'));
    // The server, asked for web, sends no nft-sync.yaml: the agent cannot check the mapping.
    await refusedWith(s.pull({ port: await s.mitm({ toServer: askWeb }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /proof ends before nft-sync\.yaml/);
    // The real signed nft-sync.yaml added back to the proof: it gives db-1 default, not web.
    const v2Config = Buffer.from(s.fx.git(['cat-file', 'blob', 'v2:nft-sync.yaml'], s.fx.bare) + '\n');
    assert.equal(gitBlobId(v2Config), s.fx.git(['rev-parse', 'v2:nft-sync.yaml'], s.fx.bare));
    const addConfig = (m: Intercepted) => {
      const proof = m.message.proof as Array<{ type: string; id: string; size: number }>;
      m.message.proof = [...proof, { type: 'blob', id: gitBlobId(v2Config), size: v2Config.length }];
      m.body = Buffer.concat([m.body!, v2Config]);
    };
    await refusedWith(s.pull({ port: await s.mitm({ toServer: askWeb, toAgent: onRuleset(addConfig) }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /gives agent db-1 ruleset default, but the server sent web/);
    assert.equal(s.inForcePort(), DEFAULT_PORT);
  });

  test('dropping, forging or altering the nft-sync.yaml blob is refused', async (t) => {
    const s = await setup(t);
    await s.pull({});
    const forged = Buffer.from('version: 1\nagents:\n  - match: "*"\n    ruleset: web\n');
    // Dropped from an honest answer.
    await refusedWith(s.pull({ port: await s.mitm({ toAgent: onRuleset((m) => replaceConfigBlob(m, undefined)) }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /proof ends before nft-sync\.yaml/);
    // Forged: a yaml that gives everyone web, in place of the signed one, under its own correct id.
    const forge = onRuleset((m) => replaceConfigBlob(m, forged));
    await refusedWith(s.pull({ port: await s.mitm({ toAgent: forge }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /nft-sync\.yaml at commit \w+ is blob \w+, but the proof has blob \w+ there/);
    // The same forgery with the request asking for web, so the served ruleset would fit it.
    await refusedWith(s.pull({ port: await s.mitm({ toServer: onFetch((f) => (f.ruleset = 'web')), toAgent: onRuleset((m) => {
      const proof = m.message.proof as Array<{ type: string; id: string; size: number }>;
      m.message.proof = [...proof, { type: 'blob', id: gitBlobId(forged), size: forged.length }];
      m.body = Buffer.concat([m.body!, forged]);
    }) }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /nft-sync\.yaml at commit \w+ is blob/);
    // Altered under the signed id: the agent's own hash of it differs.
    const alter = onRuleset((m) => {
      const signedId = (m.message.proof as Array<{ id: string }>).at(-1)!.id;
      replaceConfigBlob(m, forged);
      (m.message.proof as Array<{ id: string }>).at(-1)!.id = signedId;
    });
    await refusedWith(s.pull({ port: await s.mitm({ toAgent: alter }), ref: 'v2' }), 'NFTSYNC_ERR_VERIFY_CHAIN', /the blob the server calls \w+ hashes to \w+/);
    assert.equal(s.inForcePort(), DEFAULT_PORT);
  });

  test('rewriting the ref is refused, for a pinned tag and for a tracked pattern', async (t) => {
    const s = await setup(t);
    await s.pull({});
    const toV2 = onFetch((f) => (f.ref = 'v2'));
    // Asked v1, the server answers for v2 (another genuine signed release).
    await refusedWith(s.pull({ port: await s.mitm({ toServer: toV2 }) }), 'NFTSYNC_ERR_VERIFY_CHAIN', /answered for ref "v2", but the agent asked for "v1"/);
    // The answer's ref put back: the signed tag is named v2, the agent follows v1.
    const back = await s.mitm({ toServer: toV2, toAgent: onRuleset((m) => (m.message.ref = 'v1')) });
    await refusedWith(s.pull({ port: back }), 'NFTSYNC_ERR_VERIFY_CHAIN', /the signed tag is named "v2", but the agent follows "v1"/);
    // Tracking 'v*': the pattern narrowed to 'v1.*' on the way, so the server picks the older
    // (genuine, signed) v1.0.0 over v2.0.0; the answer is for another pattern.
    tag(s.fx.clone, 'v1.0.0', s.signer, { target: 'v1^{commit}' });
    tag(s.fx.clone, 'v2.0.0', s.signer, { target: 'v2^{commit}' });
    s.fx.git(['push', '-q', 'origin', 'refs/tags/v1.0.0', 'refs/tags/v2.0.0']);
    const narrowed = await s.mitm({ toServer: onFetch((f) => (f.ref = 'v1.*')) });
    await refusedWith(s.pull({ port: narrowed, ref: 'v*', track: true }), 'NFTSYNC_ERR_VERIFY_CHAIN', /answered for ref "v1\.\*", but the agent asked for "v\*"/);
    assert.equal(s.inForcePort(), DEFAULT_PORT);
  });
});

describe('signed releases: a refused tag does not hold back a good one at the same commit', () => {
  test('after refusing an unsigned v1.1.0, a signed v1.2.0 on the same commit is applied (fetch after restart)', async (t) => {
    const s = await setup(t);
    const track = { ref: 'v1.*', track: true } as const;
    s.fx.commit({ 'rulesets/default.json': withPort(2651) }, 'v1.0.0');
    tag(s.fx.clone, 'v1.0.0', s.signer);
    s.fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.0.0']);
    assert.equal((await s.pull(track)).kind, 'applied');
    assert.equal(s.inForcePort(), 2651);
    const commit = s.fx.commit({ 'rulesets/default.json': withPort(2652) }, 'v1.1.0');
    tag(s.fx.clone, 'v1.1.0');
    s.fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.1.0']);
    await refusedWith(s.pull(track), 'NFTSYNC_ERR_VERIFY_SIGNATURE');
    assert.equal(s.inForcePort(), 2651);
    tag(s.fx.clone, 'v1.2.0', s.signer);
    s.fx.git(['push', '-q', 'origin', 'refs/tags/v1.2.0']);
    const out = await s.pull(track);
    assert.equal(out.kind, 'applied');
    assert.equal(out.commit, commit);
    assert.equal(s.inForcePort(), 2652);
  });
});
