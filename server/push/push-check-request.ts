/**
 * What the push-check socket accepts (server/push/pre-receive-client.ts has the protocol): a request
 * for THIS repository, whose object variables name only this repository's own objects and a
 * quarantine directory git made inside them. Anything else is not judged by the server (the hook
 * then validates in its own process), so the socket cannot be used to make the server read
 * objects, or run git, anywhere else.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { HOOK_REQUEST_MAGIC } from './pre-receive-client.js';
import { GIT_OBJECT_VARS } from './pre-receive-check.js';

/** A request the server will judge. */
export interface PushCheckRequest {
  input: string;
  gitEnv: Record<string, string>;
}

/** git's quarantine directory name (tmp-objdir.c: `tmp_objdir-<prefix>-XXXXXX`, prefix "incoming"). */
const QUARANTINE = /^tmp_objdir-incoming-[A-Za-z0-9]{6,}$/;

async function real(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

/**
 * Parse and check `request` (the whole request: head, empty line, ref lines) against the
 * repository at `gitdir`. Resolves with the request, or with `{fallback: why}` naming what was
 * refused. Never throws.
 */
export async function parsePushCheckRequest(request: Buffer, gitdir: string): Promise<PushCheckRequest | { fallback: string }> {
  const end = request.indexOf('\n\n');
  if (end < 0) return { fallback: 'the request has no end of head' };
  const [magic, ...lines] = request.subarray(0, end).toString('utf8').split('\n');
  if (magic !== HOOK_REQUEST_MAGIC) return { fallback: `the request does not start with ${JSON.stringify(HOOK_REQUEST_MAGIC)}` };
  const head = new Map<string, string>();
  const rawEnv: Array<[string, string]> = [];
  for (const line of lines) {
    const sp = line.indexOf(' ');
    const [key, value] = sp < 0 ? [line, ''] : [line.slice(0, sp), line.slice(sp + 1)];
    if (key === 'env') {
      const eq = value.indexOf('=');
      if (eq <= 0) return { fallback: 'an env line is not NAME=VALUE' };
      rawEnv.push([value.slice(0, eq), value.slice(eq + 1)]);
    } else if ((key === 'cwd' || key === 'dir') && !head.has(key)) head.set(key, value);
    else return { fallback: `the request line ${JSON.stringify(key.slice(0, 40))} is not understood` };
  }
  const cwd = head.get('cwd');
  const dir = head.get('dir');
  if (cwd === undefined || dir === undefined || !isAbsolute(cwd)) return { fallback: 'the request lacks an absolute cwd or a dir' };
  const own = await real(gitdir);
  if (own === undefined || (await real(resolve(cwd, dir))) !== own) return { fallback: 'the push is for another repository' };
  const objects = await real(join(own, 'objects'));
  const gitEnv: Record<string, string> = {};
  for (const [key, value] of rawEnv) {
    if (!(GIT_OBJECT_VARS as readonly string[]).includes(key) || key in gitEnv) return { fallback: `${key} is not a variable the check takes` };
    const alternates = key === 'GIT_ALTERNATE_OBJECT_DIRECTORIES';
    for (const p of alternates ? value.split(':') : [value]) {
      const resolved = isAbsolute(p) ? await real(p) : undefined;
      const ok = alternates ? resolved === objects : resolved !== undefined && dirname(resolved) === objects && QUARANTINE.test(basename(resolved));
      if (objects === undefined || !ok) return { fallback: `${key} is outside this repository's objects` };
    }
    gitEnv[key] = value;
  }
  return { input: request.subarray(end + 2).toString('utf8'), gitEnv };
}
