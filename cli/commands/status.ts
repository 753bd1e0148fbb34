import type { AgentList, ForgottenAgent } from '../../shared/http/http-api.js';
import { toNftSyncError } from '../../shared/errors.js';
import { sleep } from '../../agent/backoff.js';
import { callApi } from '../api-client.js';
import { activeRollouts, formatRollout } from '../rollout-lines.js';
import type { RolloutAnswer as RolloutView } from '../../shared/http/http-api.js';
import { str, type Command } from '../command.js';
import { secondsFlag } from '../seconds-flag.js';
import { formatStatusTable, STATUS_NOT_READY_EXIT, statusJson } from '../status-table.js';
import { CLI_DEFAULTS } from '../defaults.js';

/** Default seconds between polls of `--watch` given without a number. */
const WATCH_DEFAULT_S = String(CLI_DEFAULTS.statusWatchS);

export const statusCommand: Command = {
  name: 'status',
  summary: `Print every agent's latest status as the server knows it (a table, or JSON with --json); exit ${STATUS_NOT_READY_EXIT} when an agent is not Ready.`,
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP API, e.g. http://127.0.0.1:8080' },
    json: { type: 'boolean', default: false, description: 'print a JSON document of stable shape (docs/http-api.md) instead of the table' },
    forget: {
      type: 'string',
      description: 'first forget this retired agent (a host that ran pull, or whose agent is gone for good) so it no longer counts; a write (NFT_SYNC_TOKEN); refused while it is connected',
    },
    watch: {
      type: 'string',
      valueIfBare: WATCH_DEFAULT_S,
      description: `print again every SECONDS (default ${WATCH_DEFAULT_S}) until SIGINT or SIGTERM; exits with the last poll's code`,
    },
  },
  async run(values) {
    const http = str(values, 'http')!;
    const watch = str(values, 'watch');
    const forget = str(values, 'forget');
    if (forget !== undefined) {
      await callApi<ForgottenAgent>(http, 'DELETE', `/api/v1/agents/${encodeURIComponent(forget)}`);
      process.stderr.write(`nft-sync: forgot agent ${forget}\n`);
    }
    const once = async (): Promise<number> => {
      const { agents } = await callApi<AgentList>(http, 'GET', '/api/v1/agents');
      const doc = statusJson(agents);
      // Running and halted rollouts (a server that keeps none, or predates them: none).
      const rollouts = activeRollouts(await callApi<{ rollouts: RolloutView[] }>(http, 'GET', '/api/v1/rollouts').then((r) => r.rollouts, () => []));
      // One JSON document per poll: pretty once, one line each when watching (JSON lines).
      const text = values.json
        ? `${JSON.stringify({ ...doc, rollouts }, null, watch === undefined ? 2 : undefined)}\n`
        : formatStatusTable(agents, Date.now()) + (rollouts.length > 0 ? `\n${rollouts.flatMap((r) => formatRollout(r, Date.now())).join('\n')}\n` : '');
      if (watch !== undefined && !values.json && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      if (watch !== undefined && !values.json) process.stdout.write(`${new Date().toISOString()}  every ${watch}s  (ctrl-c to stop)\n`);
      process.stdout.write(text);
      return doc.ready ? 0 : STATUS_NOT_READY_EXIT;
    };
    if (watch === undefined) return once();
    const intervalMs = secondsFlag(watch, '--watch', 0.1, 3600);
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let code = 0;
    try {
      while (!ac.signal.aborted) {
        try {
          code = await once();
        } catch (err) {
          // A server restarting between polls is worth showing, not worth stopping for.
          const e = toNftSyncError(err);
          process.stderr.write(`nft-sync: ${e.code}: ${e.message.split('\n').join(' ')}\n`);
          code = 1;
        }
        await sleep(intervalMs, ac.signal);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return code;
  },
};
