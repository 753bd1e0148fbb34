import { pullOnce } from '../../agent/pull-once.js';
import { AGENT_FLAGS, agentRunOptions } from '../agent-flags.js';
import { LOG_FLAG, str, type Command } from '../command.js';
import { agentHostname } from '../hostname.js';
import { createLogger } from '../logger.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Fetch, verify and apply the ruleset at REF once; exit 0 once that revision is in force.',
  flags: {
    ...AGENT_FLAGS,
    name: { type: 'string', description: 'agent name (default: the host name)' },
    ...LOG_FLAG,
  },
  async run(values) {
    const agent = str(values, 'name') ?? agentHostname();
    const options = agentRunOptions('pull', values, agent);
    const logger = createLogger(str(values, 'log-level') === 'info' ? 'warn' : str(values, 'log-level')!, { agent });
    const outcome = await pullOnce({ ...options, logger });
    const verb = outcome.kind === 'applied' ? 'applied' : 'already in force:';
    process.stdout.write(`${verb} ${outcome.ruleset} at ${outcome.commit} (blob ${outcome.blob})\n`);
    return 0;
  },
};
