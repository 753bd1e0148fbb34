/**
 * One pre-receive check, wherever it runs: in the hook's own process (`nft-sync hook
 * pre-receive`, the fallback) or in the running server (server/push/push-check-service.ts). Both
 * print the same lines and give the same verdict, so a pusher cannot tell the two apart.
 */
import { parseRefUpdates } from '../../shared/push/push-checks.js';
import { validatePush } from './push-validator.js';
import type { ScratchNetns } from '../../host/scratch-netns.js';

/** Git's quarantine and object variables the validator must honour. */
export const GIT_OBJECT_VARS = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'] as const;

export interface PreReceiveCheckOptions {
  gitdir: string;
  /** The hook's values of GIT_OBJECT_VARS (the pushed objects are still in quarantine). */
  gitEnv: Record<string, string>;
  /** Load into a scratch namespace where possible ('auto') or never ('off'). */
  nft: 'auto' | 'off';
  /** Where a scratch namespace comes from (default: a new one for this check); see PushValidatorOptions.scratch. */
  scratch?: (nftTimeoutMs: number) => Promise<ScratchNetns>;
  /** Writes one line for the pusher (git shows it as `remote: ...`). */
  write: (line: string) => void;
}

/** Messages quote file snippets; git prefixes each line with `remote:`, so keep one per problem. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/**
 * Check the push whose pre-receive input (`<old> <new> <ref>` lines) is `input`. Resolves with
 * the hook's exit code: 0 accepts, 1 refuses (every problem written first). Errors: git failing
 * on the repository (NFTSYNC_ERR_REPO_GIT_FAILED), malformed input (from parseRefUpdates); the
 * caller reports them and refuses the push.
 */
export async function preReceiveCheck(input: string, opts: PreReceiveCheckOptions): Promise<number> {
  const started = performance.now();
  const say = (line: string): void => opts.write(`nft-sync: ${line}`);
  const updates = parseRefUpdates(input);
  const result = await validatePush(updates, { gitdir: opts.gitdir, gitEnv: opts.gitEnv, nft: opts.nft, say, scratch: opts.scratch });
  for (const w of result.warnings) say(`warning: ${w}`);
  const ms = Math.round(performance.now() - started);
  if (result.problems.length === 0) {
    if (result.checked > 0) say(`${result.checked} ruleset(s) valid${result.loaded === true ? ', loaded and read back in a scratch namespace' : ''} (${ms} ms)`);
    return 0;
  }
  for (const p of result.problems) {
    say(`${p.ref} ${p.commit.slice(0, 12)}: ${p.path}${p.blob ? ` (blob ${p.blob.slice(0, 12)})` : ''}: ${p.code}: ${oneLine(p.message)}`);
  }
  say(`NFTSYNC_ERR_PUSH_REFUSED: push refused, ${result.problems.length} problem(s); nothing was changed`);
  return 1;
}
