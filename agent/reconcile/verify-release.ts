/**
 * Reconcile step "verify release" (agents started with --allowed-signers): check the release
 * proof the server sent (shared/release/release-proof.ts, pure) and the tag's SSH signature with
 * `ssh-keygen -Y verify`, exactly as `git verify-tag` does with gpg.format=ssh: namespace
 * "git", the principal is the tagger's email, the allowed keys come from the operator's file.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import type { CheckedRelease } from '../../shared/release/release-proof.js';
import type { FetchResult } from '../wire/wire-client.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/**
 * Check that the allowed-signers file can be read (at start, so a typo fails fast).
 * Errors: NFTSYNC_ERR_CONFIG_INVALID.
 */
export function assertAllowedSignersReadable(path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--allowed-signers ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Verify an SSH signature over `payload` for `principal` against `allowedSigners`.
 * Errors: NFTSYNC_ERR_VERIFY_SIGNATURE (bad signature, key not allowed for the principal),
 * NFTSYNC_ERR_CONFIG_INVALID (ssh-keygen cannot be run).
 */
export async function verifySshSignature(opts: { allowedSigners: string; principal: string; payload: Buffer; signature: string; timeoutMs?: number }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nft-sync-sig-'));
  try {
    const sigFile = join(dir, 'tag.sig');
    await writeFile(sigFile, opts.signature);
    const args = ['-Y', 'verify', '-f', opts.allowedSigners, '-I', opts.principal, '-n', 'git', '-s', sigFile];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('ssh-keygen', args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? AGENT_DEFAULTS.signatureVerifyMs });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', (err) => reject(new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `cannot run ssh-keygen: ${err.message}`, { cause: err })));
      child.on('close', (c) => resolve({ code: c, output: output.trim() }));
      child.stdin.on('error', () => {});
      child.stdin.end(opts.payload);
    });
    if (code !== 0) {
      throw new NftSyncError('NFTSYNC_ERR_VERIFY_SIGNATURE', `signature check for ${opts.principal} failed: ${output.split('\n').slice(-2).join(' ') || `ssh-keygen exit ${code}`}`, {
        data: { principal: opts.principal },
      });
    }
    return output;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Verify a fetched revision as a signed release: the proof's objects and links
 * (NFTSYNC_ERR_VERIFY_CHAIN), then the tag's signature (NFTSYNC_ERR_VERIFY_SIGNATURE). The
 * ruleset's bytes against its blob id stay verifyRevision's job.
 *
 * The claim is what the agent asked for, not what the server answered: `ref` the tag it must
 * carry; `asked.ruleset` the ruleset the agent named, or when it named none, the server's choice
 * bound to `asked.agent` through the signed nft-sync.yaml (shared/release/release-proof.ts).
 */
export async function verifyRelease(
  fetched: Extract<FetchResult, { kind: 'ruleset' }>,
  ref: string,
  allowedSigners: string,
  asked: { agent: string; ruleset?: string },
): Promise<CheckedRelease> {
  if (!fetched.proof) throw new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', 'the server sent no release proof; refusing an unverifiable revision');
  const claim = asked.ruleset !== undefined ? { ruleset: asked.ruleset } : { ruleset: fetched.ruleset, agent: asked.agent };
  // Loaded here, not at start: with the YAML parser and the nft-sync.yaml schema it needs, it
  // would add to the RSS of every agent, and only agents that check releases use it.
  const { checkReleaseProof } = await import('../../shared/release/release-proof.js');
  const checked = checkReleaseProof(fetched.proof, { ref, commit: fetched.commit, blob: fetched.blob, ...claim });
  await verifySshSignature({ allowedSigners, principal: checked.tag.taggerEmail, payload: checked.tag.payload, signature: checked.tag.signature! });
  return checked;
}
