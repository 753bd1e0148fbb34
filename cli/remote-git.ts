/**
 * The CLI's git against the server's git over HTTP (`URL/git/rules.git`), in a scratch clone: the
 * token from NFT_SYNC_TOKEN goes in an HTTP header through git's environment (never on a command
 * line, where `ps` would show it), git never prompts, and git's failures become coded errors.
 */
import { NftSyncError } from '../shared/errors.js';
import { runGit } from '../host/run-git.js';
import { apiBase } from './api-client.js';

/** The git-over-HTTP URL of the server whose API is at `http`. Throws NFTSYNC_ERR_USAGE. */
export function gitUrl(http: string): string {
  return new URL('/git/rules.git', apiBase(http)).href;
}

/**
 * Environment for git talking to the server: no prompts, no credential helpers asked, and with a
 * token, `Authorization: Basic` (any user name, the token as password, as the server expects).
 */
export function remoteGitEnv(token: string | undefined): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };
  if (token) {
    const basic = Buffer.from(`nft-sync:${token}`).toString('base64');
    Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
  }
  return env;
}

/** Why a push was turned away, when git says so. */
export type PushRejection = 'moved' | 'refused';

/**
 * Run git in `gitdir` (a bare scratch clone) with `env`. Errors: NFTSYNC_ERR_AUTH_REQUIRED (401),
 * NFTSYNC_ERR_CONN_FAILED (server unreachable), NFTSYNC_ERR_PUSH_REFUSED (the pre-receive
 * validator's lines in `data.remote`), NFTSYNC_ERR_REPO_GIT_FAILED (anything else; a push lost
 * to a concurrent one has `data.rejection` 'moved'). `allowConfig`: the config keys `args` set
 * (`-c KEY=VALUE`) that simple-git does not list as safe (RunGitOptions.allowConfig).
 */
export async function git(gitdir: string | undefined, args: string[], env: Record<string, string>, input?: string, allowConfig?: readonly string[]): Promise<string> {
  try {
    return (await runGit(args, { gitdir, env, input, ...(allowConfig ? { allowConfig } : {}) })).stdout;
  } catch (err) {
    throw remoteGitError((err as Error).message, err);
  }
}

function remoteGitError(message: string, cause: unknown): NftSyncError {
  const remote = message.split('\n').filter((l) => l.startsWith('remote: nft-sync:')).map((l) => l.slice('remote: '.length));
  if (/\b401\b|Authentication failed|could not read (Username|Password)|terminal prompts disabled/i.test(message)) {
    return new NftSyncError('NFTSYNC_ERR_AUTH_REQUIRED', 'the server needs a token for this: set NFT_SYNC_TOKEN to one of its --token-file tokens', { cause });
  }
  if (/Failed to connect|Could not resolve host|Connection refused|Couldn't connect/i.test(message)) {
    return new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `cannot reach the server's git: ${lastLine(message)}`, { cause });
  }
  if (remote.length > 0 || /pre-receive hook declined/.test(message)) {
    return new NftSyncError('NFTSYNC_ERR_PUSH_REFUSED', `the server refused the rollback release, as it would any push: ${remote.join('; ') || lastLine(message)}`, { cause, data: { remote } });
  }
  const moved = /\[rejected\]|non-fast-forward|fetch first|already exists|stale info|failed to update ref/.test(message);
  return new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', lastLine(message), { cause, data: moved ? { rejection: 'moved' satisfies PushRejection } : undefined });
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? s;
}
