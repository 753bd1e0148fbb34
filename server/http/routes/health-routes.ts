/**
 * `/healthz` (the process answers), `/readyz` (the repository is readable; on a replica, with how
 * its mirror follows the primary, which does not decide readiness) and `/metrics`. All
 * three are public (no token even with --read-token-required): probes and scrapers rarely carry
 * one, and none of them shows a ruleset, a revision or an agent's name (metrics are counts).
 */
import type { FastifyInstance } from 'fastify';
import { HealthAnswer, MetricsText, ReadyAnswer } from '../../../shared/http/http-api.js';
import type { RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const access = 'public';

/** Register the health and metrics routes. */
export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    '/healthz',
    { config: { public: true }, schema: { summary: 'Liveness: the server process answers', tags: ['meta'], security: securityOf(access), response: responses(access, { 200: HealthAnswer }) } },
    async (): Promise<HealthAnswer> => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    { config: { public: true }, schema: { summary: 'Readiness: the repository\'s refs can be read', tags: ['meta'], security: securityOf(access), response: responses(access, { 200: ReadyAnswer }) } },
    async (): Promise<ReadyAnswer> => {
      const refs = await ctx.repository.listRefs();
      const r = ctx.replica?.();
      if (!r) return { status: 'ready', refs: refs.size };
      const synced = r.syncedAt === undefined ? {} : { syncedAt: new Date(r.syncedAt).toISOString(), lagSeconds: Math.max(0, (Date.now() - r.syncedAt) / 1000) };
      return { status: 'ready', refs: refs.size, replica: { primary: r.primary, primaryReachable: r.primaryReachable, ...synced } };
    },
  );
  app.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        tags: ['meta'],
        security: securityOf(access),
        produces: ['text/plain'],
        response: responses(access, { 200: { description: 'the metrics', content: { 'text/plain': { schema: MetricsText } } } }),
      },
    },
    async (_req, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return ctx.metrics.render(ctx.registry.list(), ctx.wireConnections(), ctx.replica?.());
    },
  );
}
