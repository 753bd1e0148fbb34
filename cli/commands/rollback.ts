import { callApi } from '../api-client.js';
import { str, type Command } from '../command.js';

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'Make a new commit on BRANCH whose rulesets equal those at REV (token from NFT_SYNC_TOKEN); prints the new commit id.',
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP API, e.g. http://127.0.0.1:8080' },
    branch: { type: 'string', required: true, description: 'branch to roll back (e.g. main)' },
    to: { type: 'string', required: true, description: 'revision whose rulesets to restore (commit id, tag, branch)' },
  },
  async run(values) {
    const r = await callApi<{ commit: string; previous: string; target: string }>(str(values, 'http')!, 'POST', '/api/v1/rollback', {
      branch: str(values, 'branch')!,
      to: str(values, 'to')!,
    });
    process.stdout.write(`${r.commit}\n`);
    process.stderr.write(`# ${str(values, 'branch')}: ${r.previous.slice(0, 12)} -> ${r.commit.slice(0, 12)} (rulesets of ${r.target.slice(0, 12)})\n`);
    return 0;
  },
};
