import { AGENT_FLAGS, agentRunOptions } from '../agent-flags.js';
import { LOG_FLAG, str, type Command } from '../command.js';
import { agentHostname } from '../hostname.js';
import { createLogger } from '../logger.js';
import { nameFromCertificate } from '../tls-flags.js';
import { pullInterruptibly } from '../pull-interruptibly.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Fetch, verify and apply the ruleset at REF once; exit 0 once that revision is in force.',
  flags: {
    ...AGENT_FLAGS,
    name: { type: 'string', description: 'agent name (default: under TLS the name the certificate carries, when exactly one; else the host name)' },
    ...LOG_FLAG,
  },
  configSiblings: ['agent'],
  async run(values, _positionals, context) {
    const agent = str(values, 'name') ?? nameFromCertificate(values) ?? agentHostname();
    const options = agentRunOptions('pull', values, agent);
    // One-shot: log lines on stderr, stdout only for the result line below (README, Logging).
    const logger = createLogger(str(values, 'log-level') === 'info' ? 'warn' : str(values, 'log-level')!, 'stderr', { agent });
    if (context?.ignoredConfigKeys.length) logger.debug({ keys: context.ignoredConfigKeys }, '--config: settings of nft-sync agent ignored');
    const outcome = await pullInterruptibly({ ...options, logger });
    if (typeof outcome === 'number') return outcome;
    const verb = outcome.kind === 'applied' ? 'applied' : 'already in force:';
    process.stdout.write(`${verb} ${outcome.ruleset} at ${outcome.commit} (blob ${outcome.blob})\n`);
    return 0;
  },
};
