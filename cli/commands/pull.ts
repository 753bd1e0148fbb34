import { createNftRunner } from '../../agent/nft-runner.js';
import { pullOnce } from '../../agent/pull-once.js';
import { parseHostPort } from '../../shared/host-port.js';
import { LOG_FLAG, NFT_FLAGS, str, target, TARGET_FLAGS, type Command } from '../command.js';
import { agentHostname } from '../hostname.js';
import { createLogger } from '../logger.js';
import { assertAllowedSignersReadable } from '../../agent/verify-release.js';
import { clientTlsOptions, loadTlsMaterial, TLS_FLAGS } from '../tls-flags.js';
import { secondsFlag } from '../seconds-flag.js';
import { DEFAULT_CONFIRM_WINDOW_S } from '../../agent/confirm-revision.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Fetch, verify and apply the ruleset at REF once; exit 0 once that revision is in force.',
  flags: {
    server: { type: 'string', required: true, description: 'HOST:PORT of the wire protocol' },
    ...TARGET_FLAGS,
    ruleset: { type: 'string', description: 'ruleset name; default: chosen by nft-sync.yaml for --name' },
    name: { type: 'string', description: 'agent name (default: the host name)' },
    ...TLS_FLAGS,
    'allowed-signers': { type: 'string', description: 'signed releases: apply only revisions of --ref (a tag) signed by a key in this file (ssh-keygen allowed_signers format)' },
    'confirm-window': { type: 'string', default: String(DEFAULT_CONFIRM_WINDOW_S), description: 'seconds to reach the server through a new revision before it is rolled back (0: off)' },
    ...NFT_FLAGS,
    ...LOG_FLAG,
  },
  async run(values) {
    const { host, port } = parseHostPort(str(values, 'server')!, '--server');
    const material = loadTlsMaterial(values);
    const allowedSigners = str(values, 'allowed-signers');
    if (allowedSigners) assertAllowedSignersReadable(allowedSigners);
    const agent = str(values, 'name') ?? agentHostname();
    const logger = createLogger(str(values, 'log-level') === 'info' ? 'warn' : str(values, 'log-level')!, { agent });
    const outcome = await pullOnce({
      host,
      port,
      tls: material ? clientTlsOptions(material, host) : undefined,
      agent,
      ...target('pull', values),
      ruleset: str(values, 'ruleset'),
      nft: createNftRunner(str(values, 'nft')!),
      stateDir: str(values, 'state-dir')!,
      check: values.check === true,
      allowedSigners,
      confirmWindowMs: secondsFlag(str(values, 'confirm-window')!, '--confirm-window'),
      logger,
    });
    const verb = outcome.kind === 'applied' ? 'applied' : 'already in force:';
    process.stdout.write(`${verb} ${outcome.ruleset} at ${outcome.commit} (blob ${outcome.blob})\n`);
    return 0;
  },
};
