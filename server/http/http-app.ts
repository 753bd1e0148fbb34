/**
 * The HTTP side of the server (fastify), built without listening so tests can `inject()`.
 * Routes live in server/http/routes/*.ts; this file wires them with the things every route shares:
 * one error shape (`{"error":{code,message,retryable,data}}` with the catalogue's HTTP status)
 * for handler errors, schema validation failures and unknown routes alike; write authorisation;
 * request metrics; and the OpenAPI document built from the registered routes' own schemas.
 *
 * Authorisation: the rule in server/auth/access-policy.ts (tokens, anonymous writes from loopback
 * Host headers, reads with --read-token-required), the same one git over HTTP applies. Routes
 * marked `public` (/healthz, /readyz, /metrics, the OpenAPI document) need nothing. The check
 * runs in an onRequest hook, before the body is read or validated: a request without the right
 * credentials gets 401 (or 403) whatever it carries. Git routes (`ownAuth`) apply the policy
 * themselves, answering with git's WWW-Authenticate challenge.
 *
 * Time limits (server/http/http-timeouts.ts): headers, whole API requests, idle keep-alive and idle
 * connections here; streamed git bodies get an idle limit in server/git/git-http.ts instead.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError, ERRORS } from '../../shared/errors.js';
import type { TokenEntry } from '../../shared/config/token-list.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import { buildOpenApi, type RegisteredRoute } from './openapi.js';
import { agentRoutes } from './routes/agent-routes.js';
import { diffRoutes } from './routes/diff-routes.js';
import { elementRoutes } from './routes/element-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { rollbackRoutes } from './routes/rollback-routes.js';
import type { RouteConfig, RouteContext } from './routes/route-context.js';
import { rulesetRoutes } from './routes/ruleset-routes.js';
import { gitHttpPlugin, type GitHttpOptions } from '../git/git-http.js';
import { HTTP_TIMEOUT_DEFAULTS, connectionsCheckingInterval, requestDeadline, type HttpTimeouts } from './http-timeouts.js';
import { authorise, type AccessPolicy } from '../auth/access-policy.js';
import type { RulesetRepository } from '../git/ruleset-repository.js';
import { invalidRequest, type SchemaViolation } from './invalid-request.js';
import { ServerMetrics } from './server-metrics.js';

export interface HttpAppOptions {
  repository: RulesetRepository;
  registry: AgentRegistry;
  logger: Logger;
  /** Tokens allowed to write (--token-file). */
  tokens?: readonly TokenEntry[];
  /** Allow writes without a token when `tokens` is not given (loopback listener). Default false. */
  anonymousWrites?: boolean;
  /** API reads (all but the `public` routes) and git reads need a token too (only with `tokens`). */
  readTokenRequired?: boolean;
  /** The listener's time limits; unset ones take HTTP_TIMEOUT_DEFAULTS. */
  timeouts?: Partial<HttpTimeouts>;
  metrics?: ServerMetrics;
  /** Open wire connections (for /metrics); default 0. */
  wireConnections?: () => number;
  /** Serve the repository over git smart HTTP at /git/rules.git. */
  git?: GitHttpOptions;
}

/** fastify's own request errors that concern one part of the request. */
const FASTIFY_PART: Record<string, [string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['body', '/'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['body', '/'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['body', '/'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['header', 'content-length'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['header', 'content-type'],
};

/** Turn anything a route or fastify threw into the one error shape. */
function asApiError(err: unknown, req: FastifyRequest): NftSyncError {
  if (err instanceof NftSyncError) return err;
  const e = err as { statusCode?: number; code?: string; validation?: SchemaViolation[]; validationContext?: string; message?: string };
  if (e.validation) {
    if (e.validationContext === 'params') {
      const checks = (req.routeOptions.config as RouteConfig).paramErrors ?? {};
      const params = req.params as Record<string, string>;
      for (const [name, check] of Object.entries(checks)) {
        try {
          check(String(params[name] ?? ''));
        } catch (domain) {
          if (domain instanceof NftSyncError) return domain;
        }
      }
    }
    return invalidRequest(e.validationContext, e.validation);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 404) return new NftSyncError('NFTSYNC_ERR_API_NOT_FOUND', e.message ?? 'not found');
    const part = FASTIFY_PART[e.code ?? ''];
    if (part === undefined) return new NftSyncError('NFTSYNC_ERR_API_INVALID_REQUEST', e.message ?? 'bad request');
    const [where, at] = part;
    return new NftSyncError('NFTSYNC_ERR_API_INVALID_REQUEST', `${where}${at === '/' ? '' : ` ${at}`}: ${e.message ?? 'bad request'}`, {
      data: { in: where === 'body' ? 'body' : 'headers', [where === 'body' ? 'field' : 'parameter']: at },
    });
  }
  return toNftSyncError(err, 'NFTSYNC_ERR_SERVER_INTERNAL');
}

/**
 * Build the fastify app with every route registered (not listening). Every failure answers with
 * the one error shape; see the file comment for write authorisation.
 */
export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  // Request logs are info-level in fastify; keep them out unless the operator asks for debug
  // (and a quieter logger than warn stays as quiet).
  const level = opts.logger.levelVal <= 20 || opts.logger.levelVal > 40 ? opts.logger.level : 'warn';
  const timeouts: HttpTimeouts = { ...HTTP_TIMEOUT_DEFAULTS, ...opts.timeouts };
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }, { level }) as FastifyBaseLogger,
    // Unknown query parameters and body fields are errors, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
    // Node's requestTimeout would also cut a large push still sending: requestDeadline below
    // bounds API requests, git-http.ts bounds git bodies by idleness instead.
    requestTimeout: 0,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: connectionsCheckingInterval(timeouts) },
  });
  const metrics = opts.metrics ?? new ServerMetrics();
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, schema: r.schema as RegisteredRoute['schema'], write: (r.config as RouteConfig | undefined)?.write === true });
  });
  const policy: AccessPolicy = { tokens: opts.tokens, anonymousWrites: opts.anonymousWrites, readTokenRequired: opts.readTokenRequired };
  const authoriseRequest = (req: FastifyRequest, write: boolean): string =>
    authorise(policy, { write, host: req.headers.host, authorization: req.headers.authorization, via: 'api' });
  // Credentials first, before fastify reads or validates the body: a request that lacks them is
  // answered 401 (or 403) whatever it carries, and its body is never parsed.
  app.addHook('onRequest', async (req, reply) => {
    const config = (req.routeOptions.config ?? {}) as RouteConfig;
    if (config.ownAuth) return;
    requestDeadline(req.raw, reply.raw, timeouts.requestMs, () => req.log.warn({ url: req.url.slice(0, 200), ms: timeouts.requestMs }, 'request did not arrive whole in time: connection closed'));
    if (config.write) authoriseRequest(req, true);
    else if (!config.public && req.routeOptions.url !== undefined) authoriseRequest(req, false);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.countRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode);
  });
  app.setErrorHandler((err, req, reply) => {
    const e = asApiError(err, req);
    if (ERRORS[e.code].status >= 500) req.log.error({ err }, 'request failed');
    if (e.code === 'NFTSYNC_ERR_AUTH_REQUIRED') void reply.header('www-authenticate', 'Bearer realm="nft-sync"');
    void reply.status(ERRORS[e.code].status).send({ error: e.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new NftSyncError('NFTSYNC_ERR_API_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}: see GET /api/v1/openapi.json`);
    void reply.status(404).send({ error: e.toJSON() });
  });
  const ctx: RouteContext = {
    repository: opts.repository,
    registry: opts.registry,
    metrics,
    logger: opts.logger,
    wireConnections: opts.wireConnections ?? (() => 0),
    writer: (req) => authoriseRequest(req, true),
  };
  healthRoutes(app, ctx);
  rulesetRoutes(app, ctx);
  diffRoutes(app, ctx);
  agentRoutes(app, ctx);
  rollbackRoutes(app, ctx);
  elementRoutes(app, ctx);
  if (opts.git) {
    await app.register(gitHttpPlugin, { ...opts.git, tokens: opts.tokens, anonymousWrites: opts.anonymousWrites === true, readTokenRequired: opts.readTokenRequired === true, bodyIdleMs: timeouts.bodyIdleMs });
  }
  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { summary: 'This OpenAPI document', tags: ['meta'] } }, async () => buildOpenApi(routes));
  return app;
}
