import { join } from 'node:path';
import { initRepository, preReceiveHookScript } from '../../server/tools.js';
import type { Command } from '../command.js';
import { packageRoot } from '../../host/package-root.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'Create a bare git repository at DIR from repo-template/, with one commit on branch main.',
  positionals: ['DIR'],
  flags: {},
  async run(_values, [dir]) {
    const { commit } = await initRepository(dir!, join(packageRoot(), 'repo-template'), { hooks: { 'pre-receive': preReceiveHookScript() } });
    process.stdout.write(`initialised ${dir} at ${commit} (branch main)\n`);
    return 0;
  },
};
