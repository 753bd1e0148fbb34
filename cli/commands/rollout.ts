import { NftSyncError } from '../../shared/errors.js';
import { assertTagPattern } from '../../shared/release/semver.js';
import type { RolloutAnswer as RolloutView } from '../../shared/http/http-api.js';
import { callApi } from '../api-client.js';
import { str, type Command } from '../command.js';
import { formatRollout } from '../rollout-lines.js';
import { STATUS_NOT_READY_EXIT } from '../status-table.js';

const ACTIONS = ['status', 'resume', 'abort'] as const;

export const rolloutCommand: Command = {
  name: 'rollout',
  summary: `Staged rollouts (nft-sync.yaml rollouts:): status (all, or one with --branch; exit ${STATUS_NOT_READY_EXIT} when one shown is halted), resume (the next wave gets the new revision), abort (every agent back on the previous revision; the branch is not moved). Token from NFT_SYNC_TOKEN.`,
  positionals: ['status|resume|abort'],
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP API, e.g. http://127.0.0.1:8080' },
    branch: { type: 'string', description: 'the branch whose rollout to show or act on (e.g. main)' },
    'track-tags': { type: 'string', description: "instead of --branch: the rollout of agents tracking tag pattern PATTERN (e.g. 'v*')" },
    json: { type: 'boolean', default: false, description: 'print the API\'s JSON (docs/http-api.md) instead of text' },
  },
  async run(values, positionals) {
    const action = positionals[0];
    if (positionals.length !== 1 || !ACTIONS.includes(action as (typeof ACTIONS)[number])) {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `rollout: give one action: ${ACTIONS.join(', ')}`);
    }
    const http = str(values, 'http')!;
    const branch = str(values, 'branch');
    const pattern = str(values, 'track-tags');
    if (branch !== undefined && pattern !== undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'rollout: give --branch or --track-tags, not both');
    if (pattern !== undefined) assertTagPattern(pattern);
    const name = pattern !== undefined ? `tags:${pattern}` : branch;
    if (name === undefined && action !== 'status') throw new NftSyncError('NFTSYNC_ERR_USAGE', `rollout ${action}: name the rollout with --branch BRANCH (or --track-tags PATTERN)`);
    const path = name === undefined ? '/api/v1/rollouts' : `/api/v1/rollouts/${encodeURIComponent(name)}${action === 'status' ? '' : `/${action}`}`;
    const answer = await callApi<RolloutView | { rollouts: RolloutView[] }>(http, action === 'status' ? 'GET' : 'POST', path);
    const shown = 'rollouts' in answer ? answer.rollouts : [answer];
    if (values.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    else if (shown.length === 0) process.stdout.write('no rollouts: declare them under rollouts: in nft-sync.yaml\n');
    else process.stdout.write(`${shown.flatMap((r) => formatRollout(r, Date.now())).join('\n')}\n`);
    return action === 'status' && shown.some((r) => r.phase === 'halted') ? STATUS_NOT_READY_EXIT : 0;
  },
};
