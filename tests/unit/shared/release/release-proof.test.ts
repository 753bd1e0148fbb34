/**
 * checkReleaseProof when the server chose the ruleset (the agent named none): the proof must
 * carry the signed nft-sync.yaml, and the ruleset must be the one it gives the agent. Real
 * objects from a real repository with a real SSH-signed tag; no root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { checkReleaseProof, type ProofObject } from '../../../../shared/release/release-proof.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';
import { makeSigner, tag } from '../../../helpers/signing-fixture.js';

const raw = (cwd: string, type: string, id: string): Buffer => execFileSync('git', ['cat-file', type, id], { cwd, env: testGitEnv() });
const CHAIN = { code: 'NFTSYNC_ERR_VERIFY_CHAIN' };

/** A signed tag `v1` on a commit with rulesets default and web, and nft-sync.yaml when given. */
function signedRelease(t: TestContext, yaml: string | undefined) {
  const dir = tempDir(t, 'nft-sync-proof-');
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'rulesets'), { recursive: true });
  git(repo, ['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, 'rulesets', 'default.json'), '{"nftables":[]}\n');
  writeFileSync(join(repo, 'rulesets', 'web.json'), '{"nftables":[{"metainfo":{}}]}\n');
  if (yaml !== undefined) writeFileSync(join(repo, 'nft-sync.yaml'), yaml);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'first']);
  const tagId = tag(repo, 'v1', makeSigner(dir, 'release'));
  const rev = (spec: string) => git(repo, ['rev-parse', spec]);
  const commit = rev('v1^{commit}');
  const path: ProofObject[] = [
    { type: 'tag', id: tagId, content: raw(repo, 'tag', tagId) },
    { type: 'commit', id: commit, content: raw(repo, 'commit', commit) },
    { type: 'tree', id: rev('v1^{tree}'), content: raw(repo, 'tree', rev('v1^{tree}')) },
    { type: 'tree', id: rev('v1:rulesets'), content: raw(repo, 'tree', rev('v1:rulesets')) },
  ];
  const config: ProofObject | undefined = yaml === undefined ? undefined : { type: 'blob', id: rev('v1:nft-sync.yaml'), content: raw(repo, 'blob', rev('v1:nft-sync.yaml')) };
  const claim = (ruleset: string, agent?: string) => ({ ref: 'v1', commit, ruleset, blob: rev(`v1:rulesets/${ruleset}.json`), ...(agent !== undefined && { agent }) });
  return { path, config, claim, withConfig: config ? [...path, config] : path };
}

test('server chose the ruleset: the signed nft-sync.yaml must give the agent exactly the ruleset served', (t) => {
  const r = signedRelease(t, 'agents:\n  - match: "web-*"\n    ruleset: web\n');
  assert.equal(checkReleaseProof(r.withConfig, r.claim('web', 'web-1')).tag.tag, 'v1');
  assert.equal(checkReleaseProof(r.withConfig, r.claim('default', 'db-1')).tag.tag, 'v1');
  // Another ruleset of the same signed commit, passed off as this agent's (a rewritten request).
  assert.throws(() => checkReleaseProof(r.withConfig, r.claim('web', 'db-1')), (err: { code: string; message: string }) => {
    assert.equal(err.code, CHAIN.code);
    assert.match(err.message, /nft-sync\.yaml gives agent db-1 ruleset default, but the server sent web/);
    return true;
  });
  assert.throws(() => checkReleaseProof(r.withConfig, r.claim('default', 'web-1')), CHAIN);
});

test('server chose the ruleset: a dropped, altered or forged nft-sync.yaml blob is refused', (t) => {
  const r = signedRelease(t, 'agents:\n  - match: "web-*"\n    ruleset: web\n');
  const config = r.config!;
  // Dropped: the root tree names nft-sync.yaml, the proof ends before it.
  assert.throws(() => checkReleaseProof(r.path, r.claim('default', 'db-1')), /proof ends before nft-sync\.yaml/);
  // Altered under its id: the agent's own hash differs.
  const everyone = Buffer.from('agents:\n  - match: "*"\n    ruleset: web\n');
  assert.throws(() => checkReleaseProof([...r.path, { ...config, content: everyone }], r.claim('web', 'db-1')), CHAIN);
  // Forged with its own, correct id: the signed tree names another blob.
  assert.throws(() => checkReleaseProof([...r.path, { type: 'blob', id: gitBlobId(everyone), content: everyone }], r.claim('web', 'db-1')), CHAIN);
  // An agent that named its ruleset gets no yaml: a blob is an object left over.
  assert.throws(() => checkReleaseProof(r.withConfig, r.claim('web')), /beyond the path/);
  assert.equal(checkReleaseProof(r.path, r.claim('web')).tag.tag, 'v1');
});

test('server chose the ruleset: a signed commit without nft-sync.yaml means default', (t) => {
  const r = signedRelease(t, undefined);
  assert.equal(checkReleaseProof(r.path, r.claim('default', 'web-1')).tag.tag, 'v1');
  assert.throws(() => checkReleaseProof(r.path, r.claim('web', 'web-1')), /has no nft-sync\.yaml, so it gives agent web-1 ruleset default, but the server sent web/);
});

test('server chose the ruleset: a signed nft-sync.yaml that does not parse is refused with its own code', (t) => {
  const r = signedRelease(t, 'agents: [\n');
  assert.throws(() => checkReleaseProof(r.withConfig, r.claim('default', 'web-1')), { code: 'NFTSYNC_ERR_REPO_CONFIG_INVALID' });
});
