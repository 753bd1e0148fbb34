import { parseHostPort } from '../../shared/host-port.js';
import { startServer } from '../../server/start-server.js';
import { LOG_FLAG, str, type Command } from '../command.js';
import { createLogger } from '../logger.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'Serve a rulesets repository over the nft-sync wire protocol and HTTP, until SIGTERM or SIGINT.',
  flags: {
    repo: { type: 'string', required: true, description: 'the git repository (bare or not)' },
    listen: { type: 'string', required: true, description: 'HOST:PORT for the wire protocol' },
    http: { type: 'string', description: 'HOST:PORT for the HTTP API and git over HTTP' },
    'token-file': { type: 'string', description: 'file of tokens allowed to write (one per line)' },
    'insecure-plaintext': { type: 'boolean', default: false, description: 'allow plain TCP on a non-loopback address' },
    ...LOG_FLAG,
  },
  async run(values) {
    const logger = createLogger(str(values, 'log-level')!, { component: 'server' });
    const http = str(values, 'http');
    const server = await startServer({
      repo: str(values, 'repo')!,
      listen: parseHostPort(str(values, 'listen')!, '--listen'),
      http: http ? parseHostPort(http, '--http') : undefined,
      insecurePlaintext: values['insecure-plaintext'] === true,
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
