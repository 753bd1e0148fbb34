/**
 * agent/reconcile/verify-release.ts: the allowed-signers file checked at start, SSH signatures
 * checked with `ssh-keygen -Y verify` (namespace git, the tagger's email as principal; real
 * ed25519 keys made by ssh-keygen), and a fetched revision without a release proof refused.
 * The whole chain (a signed tag through the server) is tests/integration/agent/reconcile/signed-release.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertAllowedSignersReadable, verifyRelease, verifySshSignature } from '../../../../agent/reconcile/verify-release.js';
import { makeSigner, SIGNER_EMAIL } from '../../../helpers/signing-fixture.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

/** `ssh-keygen -Y sign` of `payload` with `key`, namespace git (as git tag -s with gpg.format=ssh). */
function sign(dir: string, key: string, payload: string): string {
  const file = join(dir, 'payload');
  writeFileSync(file, payload);
  execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', key, '-n', 'git', file], { stdio: 'ignore' });
  return readFileSync(`${file}.sig`, 'utf8');
}

test('assertAllowedSignersReadable: a readable file passes; a missing one NFTSYNC_ERR_CONFIG_INVALID naming it', (t) => {
  const dir = makeTempDir(t, 'nft-sync-verify-');
  const signer = makeSigner(dir, 'release');
  assertAllowedSignersReadable(signer.allowedSigners);
  assert.throws(() => assertAllowedSignersReadable(join(dir, 'nope')), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_CONFIG_INVALID' && err.message.includes(join(dir, 'nope')));
});

test('verifySshSignature: a good signature by an allowed key; a changed payload, another principal or a key not allowed NFTSYNC_ERR_VERIFY_SIGNATURE', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-verify-');
  const signer = makeSigner(dir, 'release');
  const stranger = makeSigner(dir, 'stranger');
  const payload = 'object abc\ntype commit\ntag v1\n\nrelease\n';
  const signature = sign(dir, signer.key, payload);
  const ok = await verifySshSignature({ allowedSigners: signer.allowedSigners, principal: SIGNER_EMAIL, payload: Buffer.from(payload), signature });
  assert.match(ok, /Good "git" signature for test@example\.invalid/);
  const refused = { code: 'NFTSYNC_ERR_VERIFY_SIGNATURE' };
  await assert.rejects(verifySshSignature({ allowedSigners: signer.allowedSigners, principal: SIGNER_EMAIL, payload: Buffer.from(payload + 'x'), signature }), refused);
  await assert.rejects(verifySshSignature({ allowedSigners: signer.allowedSigners, principal: 'other@example.invalid', payload: Buffer.from(payload), signature }), refused);
  await assert.rejects(verifySshSignature({ allowedSigners: stranger.allowedSigners, principal: SIGNER_EMAIL, payload: Buffer.from(payload), signature }), refused);
});

test('verifyRelease: a revision fetched without a release proof is refused (NFTSYNC_ERR_VERIFY_CHAIN)', async () => {
  const fetched = { kind: 'ruleset' as const, ref: 'v1', ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), bytes: Buffer.from('{}') };
  await assert.rejects(verifyRelease(fetched, 'v1', '/dev/null', { agent: 'a' }), { code: 'NFTSYNC_ERR_VERIFY_CHAIN' });
});
