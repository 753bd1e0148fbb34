/**
 * A tracked release never goes backwards (issue 7 point 6): with real annotated (and signed)
 * tags pushed with the real git client, a real server, and the agent (pullOnce, Reconciler)
 * applying with the real nft in a throwaway namespace. Deleting the higher tag on the server
 * leaves the agent on it, held, until a higher version comes or --allow-downgrade is given.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createNftRunner } from '../../../host/nft-runner.js';
import { pullOnce, type PullOptions } from '../../../agent/pull-once.js';
import { Reconciler } from '../../../agent/reconcile/reconciler.js';
import { WireClient } from '../../../agent/wire/wire-client.js';
import { createNetns, type Netns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../helpers/server-fixture.js';
import { makeSigner, tag, type Signer } from '../../helpers/signing-fixture.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);

interface Setup {
  fx: ServerFixture;
  ns: Netns;
  state: string;
  signer: Signer;
  /** Commit default.json with `port`, tag it `name` (annotated; signed with `signer`), push both. */
  release(name: string, port: number, opts?: { signer?: Signer; date?: string }): string;
  /** Delete tag `name` on the server with the real git client. */
  deleteTag(name: string): void;
  pull(opts?: Partial<PullOptions>): ReturnType<typeof pullOnce>;
  inForcePort(): number | undefined;
  stateJson(): { tag?: string; release?: { tag: string } };
}

async function setup(t: TestContext): Promise<Setup> {
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'held');
  const dir = makeTempDir(t, 'nft-sync-held-');
  const state = join(dir, 'state');
  return {
    fx,
    ns,
    state,
    signer: makeSigner(dir, 'release'),
    release(name, port, opts = {}) {
      const commit = fx.commit({ 'rulesets/default.json': withPort(port) }, name);
      tag(fx.clone, name, opts.signer, { date: opts.date });
      fx.git(['push', '-q', 'origin', 'HEAD:main', `refs/tags/${name}`]);
      return commit;
    },
    deleteTag(name) {
      fx.git(['push', '-q', 'origin', `:refs/tags/${name}`]);
    },
    pull: (opts = {}) =>
      pullOnce({ host: fx.host, port: fx.port, agent: 'host-1', ref: 'v*', track: true, nft: createNftRunner(ns.nftCommand), stateDir: state, logger: quietLogger, ...opts }),
    inForcePort() {
      const m = /tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']));
      return m ? Number(m[1]) : undefined;
    },
    stateJson: () => JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')) as { tag?: string; release?: { tag: string } },
  };
}

async function held(p: Promise<unknown>, inForce: string, offered: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'NFTSYNC_ERR_RELEASE_DOWNGRADE', err.message);
    assert.ok(err.message!.includes(inForce) && err.message!.includes(offered), err.message);
    return true;
  });
}

describe('a tracked release never goes backwards', () => {
  test('unsigned: v2.0.0 deleted on the server, the agent stays on v2.0.0 and reports Held; --allow-downgrade moves it to v1.0.5', async (t) => {
    const s = await setup(t);
    const v105 = s.release('v1.0.5', 2705);
    s.release('v2.0.0', 2720);
    assert.equal((await s.pull()).kind, 'applied');
    assert.equal(s.inForcePort(), 2720);
    assert.equal(s.stateJson().tag, 'v2.0.0');

    s.deleteTag('v2.0.0');
    await held(s.pull(), 'v2.0.0', 'v1.0.5');
    assert.equal(s.inForcePort(), 2720, 'v2.0.0 stays in force');
    // What the agent reports: Ready False (DowngradeRefused), Held True naming both versions.
    const client = await WireClient.connect({ host: s.fx.host, port: s.fx.port, agent: 'host-1' });
    t.after(() => client.close());
    const r = await Reconciler.open({ agent: 'host-1', ref: 'v*', track: true, nft: createNftRunner(s.ns.nftCommand), stateDir: s.state, logger: quietLogger });
    assert.equal((await r.reconcile(client)).kind, 'failed');
    const status = r.status();
    assert.equal(status.state, 'Degraded');
    assert.equal(status.tag, 'v2.0.0', 'the status names the tag in force');
    assert.equal(status.conditions.find((c) => c.type === 'Ready')?.reason, 'DowngradeRefused');
    const h = status.conditions.find((c) => c.type === 'Held');
    assert.equal(h?.status, 'True');
    assert.match(h!.message!, /v1\.0\.5.*v2\.0\.0/);
    assert.equal(s.inForcePort(), 2720);

    const back = await s.pull({ allowDowngrade: true });
    assert.equal(back.kind, 'applied');
    assert.equal(back.commit, v105);
    assert.equal(s.inForcePort(), 2705);
    assert.equal(s.stateJson().tag, 'v1.0.5');
    // A higher version moves it forward again, without the flag.
    s.release('v2.0.1', 2721);
    assert.equal((await s.pull()).kind, 'applied');
    assert.equal(s.inForcePort(), 2721);
  });

  test('signed: a lower release signed later (so the tagger-time check alone would pass it) is held; --allow-downgrade goes back to an older one', async (t) => {
    const s = await setup(t);
    const signed = { allowedSigners: s.signer.allowedSigners };
    s.release('v1.0.5', 2805, { signer: s.signer, date: '2026-01-01T00:00:00Z' });
    s.release('v2.0.0', 2820, { signer: s.signer, date: '2026-06-01T00:00:00Z' });
    assert.equal((await s.pull(signed)).kind, 'applied');
    assert.equal(s.inForcePort(), 2820);
    assert.deepEqual([s.stateJson().tag, s.stateJson().release?.tag], ['v2.0.0', 'v2.0.0']);
    // A hotfix of the old line, signed after v2.0.0, while v2.0.0 is deleted.
    s.deleteTag('v2.0.0');
    s.release('v1.0.6', 2806, { signer: s.signer, date: '2026-07-01T00:00:00Z' });
    await held(s.pull(signed), 'v2.0.0', 'v1.0.6');
    assert.equal(s.inForcePort(), 2820);
    // With the flag, back to v1.0.6, then (the hotfix deleted too) to v1.0.5, older than both.
    assert.equal((await s.pull({ ...signed, allowDowngrade: true })).kind, 'applied');
    assert.equal(s.inForcePort(), 2806);
    s.deleteTag('v1.0.6');
    assert.equal((await s.pull({ ...signed, allowDowngrade: true })).kind, 'applied');
    assert.equal(s.inForcePort(), 2805);
    assert.equal(s.stateJson().release?.tag, 'v1.0.5');
  });

  test('a state written before tags were recorded holds at the signed release record; an old release.json is read once and folded into state.json', async (t) => {
    const s = await setup(t);
    const signed = { allowedSigners: s.signer.allowedSigners };
    s.release('v1.0.5', 2905, { signer: s.signer, date: '2026-01-01T00:00:00Z' });
    s.release('v2.0.0', 2920, { signer: s.signer, date: '2026-06-01T00:00:00Z' });
    await s.pull(signed);
    // What an older agent left: no tag, no release in state.json, the record in release.json.
    const { tag: _tag, release, ...old } = JSON.parse(readFileSync(join(s.state, 'state.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(s.state, 'state.json'), JSON.stringify(old));
    writeFileSync(join(s.state, 'release.json'), JSON.stringify(release));
    s.deleteTag('v2.0.0');
    s.release('v1.0.6', 2906, { signer: s.signer, date: '2026-07-01T00:00:00Z' });
    await held(s.pull(signed), 'v2.0.0', 'v1.0.6');
    assert.equal(s.inForcePort(), 2920);
    s.release('v2.1.0', 2921, { signer: s.signer, date: '2026-08-01T00:00:00Z' });
    assert.equal((await s.pull(signed)).kind, 'applied');
    assert.equal(s.stateJson().release?.tag, 'v2.1.0');
    assert.throws(() => readFileSync(join(s.state, 'release.json')), { code: 'ENOENT' }, 'release.json is gone once state.json carries the record');
  });
});
