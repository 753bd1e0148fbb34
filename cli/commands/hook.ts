/**
 * `nft-sync hook pre-receive`: what the repository's pre-receive hook runs when no server takes
 * the check (server/push/pre-receive-hook.ts). Reads git's `<old> <new> <ref>` lines on stdin,
 * validates the whole push in this one process (server/push/pre-receive-check.ts) and exits 1 to
 * refuse it. Everything written to stderr reaches the pusher as `remote: ...` lines.
 */
import { resolve } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import { GIT_OBJECT_VARS, preReceiveCheck } from '../../server/tools.js';
import type { Command } from '../command.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
    // Git kills a hook whose client went away: exit through 'exit' so the scratch namespace
    // is deleted (scratch-netns.ts) rather than left behind.
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.once(sig, () => process.exit(1));
    const gitEnv: Record<string, string> = {};
    for (const v of GIT_OBJECT_VARS) if (process.env[v] !== undefined) gitEnv[v] = process.env[v]!;
    return preReceiveCheck(await readStdin(), {
      gitdir: resolve(process.env.GIT_DIR ?? '.'),
      gitEnv,
      nft: values.load === false ? 'off' : 'auto',
      write: (line) => void process.stderr.write(`${line}\n`),
    });
  },
};
