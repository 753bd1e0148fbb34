import type { AgentRecord } from '../../server/agent-registry.js';
import { callApi } from '../api-client.js';
import { str, type Command } from '../command.js';
import { formatStatusTable } from '../status-table.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'Print every agent\'s latest status as the server knows it: a table, or JSON with --json.',
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP API, e.g. http://127.0.0.1:8080' },
    json: { type: 'boolean', default: false, description: 'print the agents as JSON (the API\'s answer)' },
  },
  async run(values) {
    const { agents } = await callApi<{ agents: AgentRecord[] }>(str(values, 'http')!, 'GET', '/api/v1/agents');
    process.stdout.write(values.json ? `${JSON.stringify({ agents }, null, 2)}\n` : formatStatusTable(agents, Date.now()));
    return 0;
  },
};
