/**
 * What `pull` and `agent` share: the flags that say where the server is, what to follow, how to
 * verify and how to apply, and the options built from them once.
 */
import { DEFAULT_CONFIRM_WINDOW_S } from '../agent/reconcile/confirm-revision.js';
import { createNftRunner, NFT_TIMEOUT_DEFAULTS_MS } from '../host/nft-runner.js';
import { DEFAULT_MAX_RULESET_BYTES, MAX_RULESET_BYTES_LIMIT } from '../agent/wire/wire-client.js';
import type { PullOptions } from '../agent/pull-once.js';
import { assertAllowedSignersReadable } from '../agent/reconcile/verify-release.js';
import { NftSyncError } from '../shared/errors.js';
import { parseHostPortList } from '../shared/wire/host-port.js';
import type { ServerEndpoint } from '../agent/wire/server-endpoint.js';
import { clientToken, TOKEN_FLAG } from './client-token.js';
import { assertRef, assertRulesetName } from '../shared/ruleset/names.js';
import { assertTagPattern } from '../shared/release/semver.js';
import { parseTablePatterns } from '../shared/ruleset/table-pattern.js';
import { NFT_FLAGS, str, target, TARGET_FLAGS } from './command.js';
import type { Flags, ParsedFlags } from './parse-command-line.js';
import { countFlag, secondsFlag } from './seconds-flag.js';
import { clientTlsOptions, loadTlsMaterial, TLS_FLAGS } from './tls-flags.js';

/** --max-ruleset-bytes (agent, pull, fetch): the largest answer the server may send. */
export const MAX_RULESET_BYTES_FLAG: Flags[string] = {
  type: 'string',
  default: String(DEFAULT_MAX_RULESET_BYTES),
  description: 'largest ruleset accepted from the server, in bytes; a bigger answer is refused unread (1M addresses take 25 MB)',
};

/** The value of --max-ruleset-bytes. Errors: NFTSYNC_ERR_USAGE. */
export function maxRulesetBytes(values: ParsedFlags): number {
  return countFlag(str(values, 'max-ruleset-bytes')!, '--max-ruleset-bytes', 1024, MAX_RULESET_BYTES_LIMIT);
}

export const AGENT_FLAGS: Flags = {
  server: { type: 'string', required: true, description: "HOST:PORT of the wire protocol, or several comma-separated (primary and replicas: 'A:7000,B:7000'); the agent follows the first that answers and fails over to the next when it goes away (TLS flags apply to all; pull uses the first that answers)" },
  ...TARGET_FLAGS,
  ruleset: { type: 'string', description: 'ruleset name; default: chosen by nft-sync.yaml for --name' },
  ...TLS_FLAGS,
  'allowed-signers': { type: 'string', description: 'signed releases: apply only tags (--ref TAG, or the tag --track-tags picks) signed by a key in this file (ssh-keygen allowed_signers format)' },
  'allow-downgrade': { type: 'boolean', default: false, description: 'with --track-tags: move to a lower version than the tag in force (without it the agent keeps its release and reports Held)' },
  'confirm-window': { type: 'string', default: String(DEFAULT_CONFIRM_WINDOW_S), description: 'seconds to reach the server through a new revision before it is rolled back (0: off)' },
  ...TOKEN_FLAG,
  ...NFT_FLAGS,
  'nft-timeout': {
    type: 'string',
    description: `seconds any one nft run may take before it is killed and retried (default: ${NFT_TIMEOUT_DEFAULTS_MS.apply / 1000} for loads, ${NFT_TIMEOUT_DEFAULTS_MS.list / 1000} for listings, ${NFT_TIMEOUT_DEFAULTS_MS.other / 1000} otherwise)`,
  },
  'max-ruleset-bytes': MAX_RULESET_BYTES_FLAG,
  'adopt-tables': { type: 'string', description: "existing tables a revision may replace although nft-sync did not create them: comma-separated 'FAMILY NAME' or 'NAME' globs, e.g. 'inet f2b-table'" },
};

/**
 * The options of one agent run from the flags in AGENT_FLAGS, without the logger. Errors:
 * NFTSYNC_ERR_USAGE (bad --server, --ref with --track-tags, --allow-downgrade without
 * --track-tags, bad seconds), NFTSYNC_ERR_REF_INVALID
 * and NFTSYNC_ERR_RULESET_NAME_INVALID (checked here, at start: the daemon would otherwise take
 * them for an unreachable server and retry forever), NFTSYNC_ERR_CONFIG_INVALID (unreadable TLS
 * files, allowed-signers file or --token-file).
 */
export function agentRunOptions(command: string, values: ParsedFlags, agent: string): Omit<PullOptions, 'logger'> & { servers: ServerEndpoint[] } {
  const list = parseHostPortList(str(values, 'server')!, '--server');
  const { host, port } = list[0]!;
  const followed = target(command, values);
  if (followed.track) assertTagPattern(followed.ref);
  else assertRef(followed.ref);
  if (values['allow-downgrade'] === true && !followed.track) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --allow-downgrade goes with --track-tags (a --ref is followed wherever it points)`);
  }
  const ruleset = str(values, 'ruleset');
  if (ruleset !== undefined) assertRulesetName(ruleset);
  const material = loadTlsMaterial(values);
  const allowedSigners = str(values, 'allowed-signers');
  const nftTimeout = str(values, 'nft-timeout');
  if (allowedSigners) assertAllowedSignersReadable(allowedSigners);
  return {
    host,
    port,
    tls: material ? clientTlsOptions(material, host) : undefined,
    servers: list.map((hp) => ({ ...hp, tls: material ? clientTlsOptions(material, hp.host) : undefined })),
    token: clientToken(values),
    agent,
    ...followed,
    ruleset,
    // The daemon keeps an nft waiting for its next load (host/warm-nft.ts); a one-shot pull has no next one.
    nft: createNftRunner(str(values, 'nft')!, { ...(nftTimeout !== undefined && { timeoutMs: secondsFlag(nftTimeout, '--nft-timeout', 0.1) }), ...(command === 'agent' && { warmLoads: true }) }),
    stateDir: str(values, 'state-dir')!,
    check: values.check === true,
    allowedSigners,
    ...(values['allow-downgrade'] === true && { allowDowngrade: true }),
    confirmWindowMs: secondsFlag(str(values, 'confirm-window')!, '--confirm-window'),
    maxRulesetBytes: maxRulesetBytes(values),
    adoptTables: parseTablePatterns(str(values, 'adopt-tables')),
  };
}
