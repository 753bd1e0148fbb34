/**
 * The `pre-receive` hook that runs the push validator for every way into the repository (git
 * over HTTP, ssh, a file path): git runs it once per push, with the pushed objects still in
 * quarantine, and refuses the whole push when it exits non-zero.
 *
 * The script is a small client (server/push/pre-receive-client.ts) that hands the check to the
 * nft-sync server serving the repository, which keeps the validator loaded and a scratch
 * namespace warm, so a push does not pay the validator's start-up. When no server answers, the
 * client runs this very installation's full validator (`nft-sync hook pre-receive`) with the
 * absolute path of node and of the hook entry, so it works when installed (`dist/`) and when
 * running from the sources in tests (through tsx), whatever PATH and working directory git gives
 * hooks. Either way the same checks run, once per push.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { perlHookScript } from './pre-receive-client.js';

/** First comment line of every hook nft-sync writes: how the server recognises its own. */
export const HOOK_MARKER = '# nft-sync pre-receive hook';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argv that runs this installation's hook entry (cli/hook-main, the `nft-sync hook` command
 * without the rest of the CLI, which would add about half a second to every push): node,
 * `--import <tsx loader>` when running from the TypeScript sources, and the entry's absolute
 * path. Never throws once loaded.
 */
export function hookArgv(): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../../cli/hook-main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const loader = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
  return [process.execPath, ...loader, entry];
}

/** Where the hook looks for perl (perl-base, Essential on Debian). */
export const HOOK_PERL = '/usr/bin/perl';

/**
 * The text of the pre-receive hook script: the Perl client that hands the check to the server
 * (server/push/pre-receive-client.ts) when `perl` exists, else a shell script that runs the full
 * validator on every push (the same checks, with Node's start-up each time).
 */
export function preReceiveHookScript(perl: string | undefined = existsSync(HOOK_PERL) ? HOOK_PERL : undefined): string {
  const validator = [...hookArgv(), 'pre-receive'];
  if (perl !== undefined) return perlHookScript(perl, HOOK_MARKER, validator);
  return `#!/bin/sh\n${HOOK_MARKER}: validates the pushed rulesets; written by nft-sync, rewritten when the server starts.\nexec ${validator.map(shellQuote).join(' ')}\n`;
}

/** What installPreReceiveHook did. */
export type HookInstallResult = 'installed' | 'unchanged' | 'foreign';

/**
 * Install or update the pre-receive hook in `gitdir/hooks`. A hook nft-sync did not write
 * (no HOOK_MARKER) is left alone and reported as 'foreign' so the caller can warn: the
 * operator's own hook must then call `nft-sync hook pre-receive` itself.
 * Errors: the file system's (the caller wraps them).
 */
export async function installPreReceiveHook(gitdir: string): Promise<HookInstallResult> {
  const file = join(gitdir, 'hooks', 'pre-receive');
  const script = preReceiveHookScript();
  let current: string | undefined;
  try {
    current = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (current !== undefined && !current.includes(HOOK_MARKER)) return 'foreign';
  if (current === script) return 'unchanged';
  await mkdir(join(gitdir, 'hooks'), { recursive: true });
  // Write then rename: a push running now sees the old hook or the new one, never half of one.
  const tmp = `${file}.nft-sync-${process.pid}`;
  await writeFile(tmp, script);
  await chmod(tmp, 0o755);
  await rename(tmp, file);
  return 'installed';
}
