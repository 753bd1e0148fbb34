import { runAgentDaemon } from '../../agent/agent-daemon.js';
import { createNftRunner } from '../../agent/nft-runner.js';
import { parseHostPort } from '../../shared/host-port.js';
import { NftSyncError } from '../../shared/errors.js';
import { isAgentName } from '../../shared/names.js';
import { LOG_FLAG, NFT_FLAGS, str, target, TARGET_FLAGS, type Command } from '../command.js';
import { createLogger } from '../logger.js';
import { assertAllowedSignersReadable } from '../../agent/verify-release.js';
import { clientTlsOptions, loadTlsMaterial, TLS_FLAGS } from '../tls-flags.js';
import { secondsFlag } from '../seconds-flag.js';
import { DEFAULT_CONFIRM_WINDOW_S } from '../../agent/confirm-revision.js';
import { DEFAULT_DRIFT_INTERVAL_S } from '../../agent/drift-watcher.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the agent daemon: apply the ruleset at REF, then follow REF and apply each new revision.',
  flags: {
    server: { type: 'string', required: true, description: 'HOST:PORT of the wire protocol' },
    ...TARGET_FLAGS,
    name: { type: 'string', required: true, description: 'this agent\'s name (its identity for status and nft-sync.yaml)' },
    ruleset: { type: 'string', description: 'ruleset name; default: chosen by nft-sync.yaml for --name' },
    ...TLS_FLAGS,
    'allowed-signers': { type: 'string', description: 'signed releases: apply only revisions of --ref (a tag) signed by a key in this file (ssh-keygen allowed_signers format)' },
    'confirm-window': { type: 'string', default: String(DEFAULT_CONFIRM_WINDOW_S), description: 'seconds to reach the server through a new revision before it is rolled back (0: off)' },
    'self-heal': { type: 'boolean', default: true, description: 'put the revision back when a managed table is changed by hand (--no-self-heal: only report)' },
    'drift-interval': { type: 'string', default: String(DEFAULT_DRIFT_INTERVAL_S), description: 'seconds between full drift comparisons backing up nft monitor (0: off)' },
    ...NFT_FLAGS,
    ...LOG_FLAG,
  },
  async run(values) {
    const { host, port } = parseHostPort(str(values, 'server')!, '--server');
    const material = loadTlsMaterial(values);
    const allowedSigners = str(values, 'allowed-signers');
    if (allowedSigners) assertAllowedSignersReadable(allowedSigners);
    const agent = str(values, 'name')!;
    if (!isAgentName(agent)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `agent: --name ${JSON.stringify(agent)} must be letters, digits, '.', '_' or '-'`);
    const logger = createLogger(str(values, 'log-level')!, { agent });
    const ac = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
    await runAgentDaemon(
      {
        host,
        port,
        tls: material ? clientTlsOptions(material, host) : undefined,
        agent,
        ...target('agent', values),
        ruleset: str(values, 'ruleset'),
        nft: createNftRunner(str(values, 'nft')!),
        stateDir: str(values, 'state-dir')!,
        check: values.check === true,
        allowedSigners,
        confirmWindowMs: secondsFlag(str(values, 'confirm-window')!, '--confirm-window'),
        selfHeal: values['self-heal'] !== false,
        driftIntervalMs: secondsFlag(str(values, 'drift-interval')!, '--drift-interval'),
        logger,
      },
      ac.signal,
    );
    logger.info('stopped');
    return 0;
  },
};
