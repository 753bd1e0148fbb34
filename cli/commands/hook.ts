/**
 * `nft-sync hook pre-receive`: what the repository's pre-receive hook execs. Reads git's
 * `<old> <new> <ref>` lines on stdin, validates the whole push in this one process
 * (server/push-validator.ts) and exits 1 to refuse it. Everything written to stderr reaches the
 * pusher as `remote: ...` lines.
 */
import { resolve } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import { parseRefUpdates } from '../../shared/push-checks.js';
import { validatePush } from '../../server/push-validator.js';
import type { Command } from '../command.js';

/** Git's quarantine and object variables the validator must honour. */
const GIT_VARS = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Messages quote file snippets; git prefixes each line with `remote:`, so keep one per problem. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

export const hookCommand: Command = {
  name: 'hook',
  summary: 'Run a git hook of the repository (pre-receive: validate a push); installed by init and the server.',
  positionals: ['NAME'],
  flags: {
    load: { type: 'boolean', default: true, description: 'load each ruleset into a scratch namespace and read it back (root); --no-load checks JSON, schema and nft-sync.yaml only' },
  },
  async run(values, [name]) {
    if (name !== 'pre-receive') throw new NftSyncError('NFTSYNC_ERR_USAGE', `hook: only pre-receive is implemented, got ${JSON.stringify(name)}`);
    const started = performance.now();
    // Git kills a hook whose client went away: exit through 'exit' so the scratch namespace
    // is deleted (scratch-netns.ts) rather than left behind.
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.once(sig, () => process.exit(1));
    const say = (line: string): void => void process.stderr.write(`nft-sync: ${line}\n`);
    const gitEnv: Record<string, string> = {};
    for (const v of GIT_VARS) if (process.env[v] !== undefined) gitEnv[v] = process.env[v]!;
    const updates = parseRefUpdates(await readStdin());
    const result = await validatePush(updates, {
      gitdir: resolve(process.env.GIT_DIR ?? '.'),
      gitEnv,
      nft: values.load === false ? 'off' : 'auto',
      say,
    });
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
  },
};
