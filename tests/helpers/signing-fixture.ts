/**
 * SSH signing keys and signed git tags for signed-release tests: a real ed25519 key made by
 * ssh-keygen in a temp dir, an allowed_signers file, and `git tag -s` with gpg.format=ssh.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testGitEnv } from './git-fixture.js';

export const SIGNER_EMAIL = 'test@example.invalid';

export interface Signer {
  /** Private key file (user.signingkey). */
  key: string;
  /** An allowed_signers file that allows this key for SIGNER_EMAIL. */
  allowedSigners: string;
}

/** Make an ed25519 key pair `NAME` in `dir` and an allowed_signers file for it. */
export function makeSigner(dir: string, name: string): Signer {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key], { stdio: 'ignore' });
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const allowedSigners = join(dir, `${name}.allowed`);
  writeFileSync(allowedSigners, `${SIGNER_EMAIL} namespaces="git" ${pub}\n`);
  return { key, allowedSigners };
}

/** `git tag` NAME in `cwd`: signed with `signer` (ssh), or annotated but unsigned without. */
export function tag(cwd: string, name: string, signer?: Signer, opts: { force?: boolean; target?: string; date?: string } = {}): string {
  const args = signer ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${signer.key}`, 'tag', '-s'] : ['tag', '-a'];
  if (opts.force) args.push('-f');
  args.push(name, '-m', `release ${name}`);
  if (opts.target) args.push(opts.target);
  const env = { ...testGitEnv(), ...(opts.date && { GIT_COMMITTER_DATE: opts.date }) };
  execFileSync('git', args, { cwd, env, stdio: 'ignore' });
  return execFileSync('git', ['rev-parse', `refs/tags/${name}`], { cwd, env, encoding: 'utf8' }).trim();
}
