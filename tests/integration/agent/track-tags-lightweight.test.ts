/**
 * What --track-tags does with lightweight tags, as the README says: any tag that is a semantic
 * version counts, lightweight or annotated; with --allowed-signers only a signed annotated tag
 * is a release, so a lightweight one chosen as the highest is refused
 * (NFTSYNC_ERR_PROOF_UNAVAILABLE) and the release in force stays. Real server, git, nft.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createNftRunner } from '../../../host/nft-runner.js';
import { pullOnce } from '../../../agent/pull-once.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { createNetns } from '../../helpers/netns.js';
import { quietLogger, startServerFixture } from '../../helpers/server-fixture.js';
import { makeSigner, tag } from '../../helpers/signing-fixture.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);

test('--track-tags follows a lightweight tag; with --allowed-signers a lightweight highest tag is refused', async (t) => {
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'light');
  const signer = makeSigner(tempDir(t, 'nft-sync-keys-'), 'release');
  const port = () => Number(/tcp dport (\d+)/.exec(ns.nft(['list', 'ruleset']))?.[1]);
  const pull = (state: string, allowedSigners?: string) =>
    pullOnce({ host: fx.host, port: fx.port, agent: 'h', ref: 'v*', track: true, nft: createNftRunner(ns.nftCommand), stateDir: state, logger: quietLogger, allowedSigners, confirmWindowMs: 0 });

  fx.commit({ 'rulesets/default.json': withPort(2801) });
  fx.git(['tag', 'v1.0.0']);
  fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.0.0']);
  // One agent (one state directory): first unsigned, then switched to signed releases.
  const state = tempDir(t, 'nft-sync-state-');
  const unsigned = await pull(state);
  assert.equal(unsigned.kind, 'applied');
  assert.equal(port(), 2801, 'a lightweight tag is followed');

  const signedState = state;
  fx.commit({ 'rulesets/default.json': withPort(2802) });
  tag(fx.clone, 'v1.1.0', signer);
  fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.1.0']);
  assert.equal((await pull(signedState, signer.allowedSigners)).kind, 'applied');
  assert.equal(port(), 2802);

  fx.commit({ 'rulesets/default.json': withPort(2803) });
  fx.git(['tag', 'v1.2.0']);
  fx.git(['push', '-q', 'origin', 'HEAD:main', 'refs/tags/v1.2.0']);
  await assert.rejects(pull(signedState, signer.allowedSigners), { code: 'NFTSYNC_ERR_PROOF_UNAVAILABLE' });
  assert.equal(port(), 2802, 'the signed release stays');
});
