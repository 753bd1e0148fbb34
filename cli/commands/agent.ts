import { runAgentDaemon } from '../../agent/agent-daemon.js';
import { DEFAULT_DRIFT_INTERVAL_S } from '../../agent/drift/drift-watcher.js';
import { DEFAULT_PUBLISH_QUIET_S, MAX_PUBLISH_QUIET_S } from '../../agent/publish/live-publisher.js';
import { NftSyncError } from '../../shared/errors.js';
import { isAgentName } from '../../shared/ruleset/names.js';
import { AGENT_FLAGS, agentRunOptions } from '../agent-flags.js';
import { LOG_FLAG, str, type Command } from '../command.js';
import { createLogger } from '../logger.js';
import { secondsFlag } from '../seconds-flag.js';
import { nameFromCertificate } from '../tls-flags.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the agent daemon: apply the ruleset at REF, then follow REF and apply each new revision.',
  flags: {
    ...AGENT_FLAGS,
    name: { type: 'string', description: "this agent's name (its identity for status and nft-sync.yaml); required, except under TLS when the certificate carries exactly one name" },
    'self-heal': { type: 'boolean', default: true, description: 'put the revision back when a managed table is changed by hand (--no-self-heal: only report)' },
    'drift-interval': { type: 'string', default: String(DEFAULT_DRIFT_INTERVAL_S), description: 'seconds between periodic drift checks backing up the event listener (a comparison for small rulesets, a generation-id check for big ones; 0: off)' },
    publish: { type: 'boolean', default: false, description: 'publish live changes of the managed tables as new revisions of the ruleset on the followed branch instead of healing them (write credential: NFT_SYNC_TOKEN or the TLS certificate; nft-sync.yaml rulesets.NAME.publishers must list this agent)' },
    'publish-quiet': { type: 'string', default: String(DEFAULT_PUBLISH_QUIET_S), description: `with --publish: seconds without further change before the live state is published (at most ${MAX_PUBLISH_QUIET_S})` },
    ...LOG_FLAG,
  },
  configSiblings: ['pull'],
  async run(values, _positionals, context) {
    const agent = str(values, 'name') ?? nameFromCertificate(values);
    if (agent === undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'agent: --name is required (under TLS it defaults to the name --tls-cert carries, when it carries exactly one)');
    if (!isAgentName(agent)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `agent: --name ${JSON.stringify(agent)} must be letters, digits, '.', '_' or '-'`);
    const options = agentRunOptions('agent', values, agent);
    const publishQuietMs = secondsFlag(str(values, 'publish-quiet')!, '--publish-quiet', 0, MAX_PUBLISH_QUIET_S);
    if (values.publish === true && options.track) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'agent: --publish needs a branch to publish to (--ref BRANCH), not --track-tags');
    // A daemon: its log lines on stdout, the stream systemd gives the journal (README, Logging).
    const logger = createLogger(str(values, 'log-level')!, 'stdout', { agent });
    if (context?.ignoredConfigKeys.length) logger.debug({ keys: context.ignoredConfigKeys }, '--config: settings of nft-sync pull ignored');
    const ac = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
    await runAgentDaemon(
      {
        ...options,
        selfHeal: values['self-heal'] !== false,
        driftIntervalMs: secondsFlag(str(values, 'drift-interval')!, '--drift-interval'),
        ...(values.publish === true && { publish: { quietMs: publishQuietMs } }),
        logger,
      },
      ac.signal,
    );
    logger.info('stopped');
    return 0;
  },
};
