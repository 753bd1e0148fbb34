/**
 * The pure git object parsers and the release proof check, on real objects from a real
 * repository with a real SSH-signed tag (the signature itself is checked by agent code).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { gitObjectId, parseCommit, parseTag, parseTree } from '../../../../shared/git/git-objects.js';
import { checkReleaseProof, type ProofObject } from '../../../../shared/release/release-proof.js';
import { git, tempDir, testGitEnv } from '../../../helpers/git-fixture.js';
import { makeSigner, SIGNER_EMAIL, tag } from '../../../helpers/signing-fixture.js';

function raw(cwd: string, type: string, id: string): Buffer {
  return execFileSync('git', ['cat-file', type, id], { cwd, env: testGitEnv() });
}

function repoWithSignedTag(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t, 'nft-sync-objects-');
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'rulesets'), { recursive: true });
  git(repo, ['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, 'rulesets', 'default.json'), '{"nftables":[]}\n');
  writeFileSync(join(repo, 'rulesets', 'web.json'), '{"nftables":[{"metainfo":{}}]}\n');
  writeFileSync(join(repo, 'README.md'), 'hello\n');
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'first']);
  const signer = makeSigner(dir, 'release');
  const tagId = tag(repo, 'v1', signer);
  const commit = git(repo, ['rev-parse', 'v1^{commit}']);
  const tree = git(repo, ['rev-parse', 'v1^{tree}']);
  const rulesetsTree = git(repo, ['rev-parse', 'v1:rulesets']);
  const blob = git(repo, ['rev-parse', 'v1:rulesets/web.json']);
  const objects: ProofObject[] = [
    { type: 'tag', id: tagId, content: raw(repo, 'tag', tagId) },
    { type: 'commit', id: commit, content: raw(repo, 'commit', commit) },
    { type: 'tree', id: tree, content: raw(repo, 'tree', tree) },
    { type: 'tree', id: rulesetsTree, content: raw(repo, 'tree', rulesetsTree) },
  ];
  return { repo, dir, signer, tagId, commit, tree, rulesetsTree, blob, objects };
}

test('gitObjectId equals git\'s ids for real tag, commit and tree objects; blob ids agree with gitBlobId', (t) => {
  const r = repoWithSignedTag(t);
  for (const o of r.objects) assert.equal(gitObjectId(o.type, o.content), o.id);
  const bytes = raw(r.repo, 'blob', r.blob);
  assert.equal(gitObjectId('blob', bytes), r.blob);
  assert.equal(gitBlobId(bytes), r.blob);
});

test('parseTag: fields, tagger email, SSH signature and payload as git verify-tag sees them', (t) => {
  const r = repoWithSignedTag(t);
  const parsed = parseTag(r.objects[0]!.content);
  assert.equal(parsed.object, r.commit);
  assert.equal(parsed.type, 'commit');
  assert.equal(parsed.tag, 'v1');
  assert.equal(parsed.taggerEmail, SIGNER_EMAIL);
  assert.ok(parsed.taggerTime > 1_600_000_000);
  assert.match(parsed.signature!, /^-----BEGIN SSH SIGNATURE-----\n[\s\S]*-----END SSH SIGNATURE-----\n$/);
  assert.equal(Buffer.concat([parsed.payload, Buffer.from(parsed.signature!)]).toString(), r.objects[0]!.content.toString());
  assert.ok(parsed.payload.toString().endsWith('release v1\n'));
  // An unsigned annotated tag has no signature; its payload is the whole object.
  const unsigned = raw(r.repo, 'tag', tag(r.repo, 'v0'));
  assert.equal(parseTag(unsigned).signature, undefined);
  assert.deepEqual(parseTag(unsigned).payload, unsigned);
});

test('parseCommit and parseTree read the binary tree format', (t) => {
  const r = repoWithSignedTag(t);
  assert.deepEqual(parseCommit(r.objects[1]!.content), { tree: r.tree, parents: [] });
  const root = parseTree(r.objects[2]!.content);
  assert.deepEqual(root.map((e) => [e.mode, e.name]), [['100644', 'README.md'], ['40000', 'rulesets']]);
  assert.equal(root[1]!.id, r.rulesetsTree);
  const files = parseTree(r.objects[3]!.content);
  assert.deepEqual(files.map((e) => e.name), ['default.json', 'web.json']);
  assert.equal(files[1]!.id, r.blob);
});

test('parsers refuse garbage with NFTSYNC_ERR_VERIFY_CHAIN', () => {
  const code = { code: 'NFTSYNC_ERR_VERIFY_CHAIN' };
  assert.throws(() => parseTree(Buffer.from('100644 a\0short')), code);
  assert.throws(() => parseTree(Buffer.from(`99 a\0${'x'.repeat(20)}`)), code);
  assert.throws(() => parseTag(Buffer.from('object nope\ntype commit\ntag v\ntagger a <b> 1 +0000\n\nm\n')), code);
  assert.throws(() => parseTag(Buffer.from(`object ${'a'.repeat(40)}\ntype commit\ntag v\n\nm\n`)), code);
  assert.throws(() => parseCommit(Buffer.from('parent x\n\nm\n')), code);
});

test('checkReleaseProof accepts the real chain and refuses every altered link', (t) => {
  const r = repoWithSignedTag(t);
  const claim = { ref: 'v1', ruleset: 'web', commit: r.commit, blob: r.blob };
  assert.equal(checkReleaseProof(r.objects, claim).tagId, r.tagId);
  assert.equal(checkReleaseProof(r.objects, { ...claim, ref: 'refs/tags/v1' }).tag.tag, 'v1');
  const chainErr = { code: 'NFTSYNC_ERR_VERIFY_CHAIN' };
  // A flipped byte in any object, id left alone.
  for (let i = 0; i < r.objects.length; i++) {
    const objects = r.objects.map((o, j) => (j === i ? { ...o, content: Buffer.from(o.content.toString('latin1').replace('e', 'E'), 'latin1') } : o));
    assert.throws(() => checkReleaseProof(objects, claim), chainErr, `object ${i}`);
  }
  assert.throws(() => checkReleaseProof(r.objects, { ...claim, blob: gitBlobId(Buffer.from('{}')) }), chainErr);
  assert.throws(() => checkReleaseProof(r.objects, { ...claim, ruleset: 'other' }), chainErr);
  assert.throws(() => checkReleaseProof(r.objects, { ...claim, ref: 'v2' }), chainErr);
  assert.throws(() => checkReleaseProof(r.objects.slice(0, 3), claim), chainErr);
  assert.throws(() => checkReleaseProof([...r.objects, r.objects[3]!], claim), chainErr);
  assert.throws(() => checkReleaseProof(r.objects.slice(1), claim), chainErr);
  // An unsigned tag: the chain is fine, the signature is missing.
  const v0 = tag(r.repo, 'v0');
  const unsigned = [{ type: 'tag' as const, id: v0, content: raw(r.repo, 'tag', v0) }, ...r.objects.slice(1)];
  assert.throws(() => checkReleaseProof(unsigned, { ...claim, ref: 'v0' }), { code: 'NFTSYNC_ERR_VERIFY_SIGNATURE' });
});
