/**
 * The HTTP side of the server (fastify), built without listening so tests can `inject()`.
 * For now: health and the agents' status; the full API comes with the remote-management work.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError, ERRORS } from '../shared/errors.js';
import type { AgentRegistry } from './agent-registry.js';
import { gitHttpPlugin, type GitHttpOptions } from './git-http.js';
import type { RulesetRepository } from './ruleset-repository.js';

export interface HttpAppOptions {
  repository: RulesetRepository;
  registry: AgentRegistry;
  logger: Logger;
  /** Serve the repository over git smart HTTP at /git/rules.git. */
  git?: GitHttpOptions;
}

/** Build the fastify app with every route registered. */
export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  // Request logs are info-level in fastify; keep them out unless the operator asks for debug.
  const level = opts.logger.levelVal <= 20 ? opts.logger.level : 'warn';
  const app = Fastify({ loggerInstance: opts.logger.child({ component: 'http' }, { level }) as FastifyBaseLogger });
  app.setErrorHandler((err, _req, reply) => {
    const e = err instanceof NftSyncError ? err : toNftSyncError(err, (err as { statusCode?: number }).statusCode === 400 ? 'NFTSYNC_ERR_USAGE' : 'NFTSYNC_ERR_SERVER_INTERNAL');
    void reply.status(ERRORS[e.code].status).send({ error: e.toJSON() });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/api/v1/agents', async () => ({ agents: opts.registry.list() }));
  if (opts.git) await app.register(gitHttpPlugin, opts.git);
  return app;
}
