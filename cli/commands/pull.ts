import { createNftRunner } from '../../agent/nft-runner.js';
import { pullOnce } from '../../agent/pull-once.js';
import { parseHostPort } from '../../shared/host-port.js';
import { LOG_FLAG, NFT_FLAGS, str, type Command } from '../command.js';
import { agentHostname } from '../hostname.js';
import { createLogger } from '../logger.js';
import { secondsFlag } from '../seconds-flag.js';
import { DEFAULT_CONFIRM_WINDOW_S } from '../../agent/confirm-revision.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Fetch, verify and apply the ruleset at REF once; exit 0 once that revision is in force.',
  flags: {
    server: { type: 'string', required: true, description: 'HOST:PORT of the wire protocol' },
    ref: { type: 'string', required: true, description: 'branch, tag or commit id' },
    ruleset: { type: 'string', description: 'ruleset name; default: chosen by nft-sync.yaml for --name' },
    name: { type: 'string', description: 'agent name (default: the host name)' },
    'confirm-window': { type: 'string', default: String(DEFAULT_CONFIRM_WINDOW_S), description: 'seconds to reach the server through a new revision before it is rolled back (0: off)' },
    ...NFT_FLAGS,
    ...LOG_FLAG,
  },
  async run(values) {
    const { host, port } = parseHostPort(str(values, 'server')!, '--server');
    const agent = str(values, 'name') ?? agentHostname();
    const logger = createLogger(str(values, 'log-level') === 'info' ? 'warn' : str(values, 'log-level')!, { agent });
    const outcome = await pullOnce({
      host,
      port,
      agent,
      ref: str(values, 'ref')!,
      ruleset: str(values, 'ruleset'),
      nft: createNftRunner(str(values, 'nft')!),
      stateDir: str(values, 'state-dir')!,
      check: values.check === true,
      confirmWindowMs: secondsFlag(str(values, 'confirm-window')!, '--confirm-window'),
      logger,
    });
    const verb = outcome.kind === 'applied' ? 'applied' : 'already in force:';
    process.stdout.write(`${verb} ${outcome.ruleset} at ${outcome.commit} (blob ${outcome.blob})\n`);
    return 0;
  },
};
