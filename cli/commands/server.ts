import { NftSyncError } from '../../shared/errors.js';
import { parseHostPort } from '../../shared/wire/host-port.js';
import { DEFAULT_MAX_FRAME, PRE_HANDSHAKE_MAX_FRAME } from '../../shared/wire/messages.js';
import { AGENT_REGISTRY_DEFAULTS, loadTokenFile, startServer, WIRE_SERVER_DEFAULTS } from '../../server/start-server.js';
import { LOG_FLAG, str, type Command } from '../command.js';
import { clientToken } from '../client-token.js';
import { createLogger } from '../logger.js';
import { loadTlsMaterial, serverTlsOptions, TLS_FLAGS } from '../tls-flags.js';
import { countFlag } from '../seconds-flag.js';
import { HTTP_TIMEOUT_FLAGS, httpTimeouts } from '../http-timeout-flags.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'Serve a rulesets repository over the nft-sync wire protocol and HTTP, until SIGTERM or SIGINT.',
  flags: {
    repo: { type: 'string', required: true, description: 'the git repository (bare or not); with --mirror-of, where the mirror is kept (cloned when absent or empty)' },
    'mirror-of': {
      type: 'string',
      description: "run as a read-only replica of the primary whose git over HTTP is at this URL (e.g. http://primary:7401/git/rules.git): keep a git mirror of it, follow its pushes within a second, serve agents from it, refuse pushes and API writes naming the primary",
    },
    'mirror-token-file': {
      type: 'string',
      description: "with --mirror-of: file whose first token the replica sends to the primary, as any client (default: the NFT_SYNC_TOKEN environment variable)",
    },
    listen: { type: 'string', required: true, description: 'HOST:PORT for the wire protocol' },
    http: { type: 'string', description: 'HOST:PORT for the HTTP API and git over HTTP' },
    'token-file': { type: 'string', description: 'file of tokens allowed to write (one per line: TOKEN [OWNER])' },
    'read-token-required': {
      type: 'boolean',
      default: false,
      description: 'reads need a token too (with --token-file): git clone and fetch over HTTP, the API but /healthz, /readyz, /metrics and its OpenAPI document, and plain-TCP wire clients (their NFT_SYNC_TOKEN or --token-file; under mutual TLS the certificate is enough)',
    },
    ...HTTP_TIMEOUT_FLAGS,
    'max-frame': { type: 'string', default: String(DEFAULT_MAX_FRAME), description: 'largest frame the server sends (a ruleset answer), in bytes; frames from clients are limited to 64 KiB' },
    'max-connections-per-address': {
      type: 'string',
      default: String(WIRE_SERVER_DEFAULTS.maxConnectionsPerAddress),
      description: 'most simultaneous wire connections from one remote address (an agent uses one, two while confirming)',
    },
    'max-connections': {
      type: 'string',
      default: String(WIRE_SERVER_DEFAULTS.maxConnections),
      description: 'most simultaneous wire connections in all, counted from TCP accept (TLS handshakes included), lockout-guard checks aside; keep it and --check-connections together well under ulimit -n',
    },
    'check-connections': {
      type: 'string',
      default: String(WIRE_SERVER_DEFAULTS.checkConnections),
      description: 'connections let in over --max-connections for agents\' lockout-guard checks only (a hello with check, closed after one ping), so a full server never rolls its agents back',
    },
    'max-agents': {
      type: 'string',
      default: String(AGENT_REGISTRY_DEFAULTS.maxAgents),
      description: 'most agents whose status the server keeps (agents gone for 7 days are forgotten)',
    },
    'insecure-plaintext': { type: 'boolean', default: false, description: 'allow plain TCP on a non-loopback address' },
    ...TLS_FLAGS,
    ...LOG_FLAG,
  },
  async run(values) {
    // No `component` here: the HTTP app's child logger adds `component: "http"`, and pino
    // writes a child's fields after its parent's without merging (a line with the key twice).
    // A daemon: its log lines on stdout, the stream systemd gives the journal (README, Logging).
    const logger = createLogger(str(values, 'log-level')!, 'stdout');
    const http = str(values, 'http');
    const material = loadTlsMaterial(values);
    const tokenFile = str(values, 'token-file');
    const tokens = tokenFile === undefined ? undefined : await loadTokenFile(tokenFile);
    if (values['read-token-required'] === true && tokens === undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', '--read-token-required needs --token-file');
    const mirrorOf = str(values, 'mirror-of');
    if (str(values, 'mirror-token-file') !== undefined && mirrorOf === undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', '--mirror-token-file goes with --mirror-of');
    if (mirrorOf !== undefined && !/^https?:\/\//.test(mirrorOf)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `--mirror-of must be the primary's git URL (http://HOST:PORT/git/rules.git), got ${JSON.stringify(mirrorOf)}`);
    const server = await startServer({
      repo: str(values, 'repo')!,
      mirrorOf: mirrorOf === undefined ? undefined : { url: mirrorOf, token: clientToken({ 'token-file': values['mirror-token-file'] }) },
      listen: parseHostPort(str(values, 'listen')!, '--listen'),
      http: http ? parseHostPort(http, '--http') : undefined,
      tls: material ? serverTlsOptions(material) : undefined,
      insecurePlaintext: values['insecure-plaintext'] === true,
      tokens,
      readTokenRequired: values['read-token-required'] === true,
      httpTimeouts: httpTimeouts(values),
      wire: {
        limits: { maxAnswerFrame: positiveInt(str(values, 'max-frame')!, '--max-frame') },
        maxConnectionsPerAddress: countFlag(str(values, 'max-connections-per-address')!, '--max-connections-per-address', 1, 1_000_000),
        maxConnections: countFlag(str(values, 'max-connections')!, '--max-connections', 1, 1_000_000),
        checkConnections: countFlag(str(values, 'check-connections')!, '--check-connections', 0, 1_000_000),
      },
      maxAgents: countFlag(str(values, 'max-agents')!, '--max-agents', 1, 10_000_000),
      logger,
    });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'stopping');
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await server.close();
    logger.info('stopped');
    return 0;
  },
};

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < PRE_HANDSHAKE_MAX_FRAME || n > 0xffff_ffff) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${what} must be a whole number of bytes from ${PRE_HANDSHAKE_MAX_FRAME} to ${0xffff_ffff}, got ${JSON.stringify(value)}`);
  }
  return n;
}
