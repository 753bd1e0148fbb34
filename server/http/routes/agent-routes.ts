/** `/api/v1/agents`: the latest status report of every agent, and of one. */
import type { FastifyInstance } from 'fastify';
import { NftSyncError } from '../../../shared/errors.js';
import { AgentList, AgentNameParams, AgentRecord, ForgottenAgent, ForwardedReports, ForwardedReportsAnswer } from '../../../shared/http/http-api.js';
import type { RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const access = 'read';

/** Register the agent status routes. */
export function agentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  // The answer is bounded because the registry is (--max-agents records, reports of at most
  // 16 KiB): unbounded, 5,000 reports of 135 KB made an answer longer than V8's longest string,
  // and JSON.stringify's RangeError came out as a 500.
  app.get(
    '/api/v1/agents',
    {
      schema: {
        summary: 'Every agent the server keeps (at most --max-agents; gone for 7 days: forgotten), with its latest report, last seen time and connection',
        tags: ['agents'],
        security: securityOf(access),
        response: responses(access, { 200: AgentList }),
      },
    },
    async (): Promise<AgentList> => ({ agents: ctx.fleet ? await ctx.fleet() : ctx.registry.list() }),
  );
  app.post<{ Body: ForwardedReports }>(
    '/api/v1/agents/reports',
    {
      config: { write: true },
      schema: {
        summary: "Keep the reports of a replica's agents (server --mirror-of forwards them), so the primary lists the whole fleet",
        tags: ['agents'],
        security: securityOf('write'),
        body: ForwardedReports,
        response: responses('write', { 200: ForwardedReportsAnswer }),
      },
    },
    async (req): Promise<ForwardedReportsAnswer> => {
      ctx.writer(req);
      let kept = 0;
      for (const report of req.body.reports) {
        try {
          ctx.registry.forwarded(report, req.body.via);
          kept += 1;
        } catch (err) {
          if (!(err instanceof NftSyncError) || err.code !== 'NFTSYNC_ERR_AGENT_REGISTRY_FULL') throw err;
        }
      }
      return { kept };
    },
  );
  app.delete<{ Params: AgentNameParams }>(
    '/api/v1/agents/:name',
    {
      config: { write: true },
      schema: {
        summary: 'Forget a retired agent (not connected), so status no longer counts it; it is listed again if it reports later',
        tags: ['agents'],
        security: securityOf('write'),
        params: AgentNameParams,
        response: responses('write', { 200: ForgottenAgent }),
      },
    },
    async (req): Promise<ForgottenAgent> => {
      const owner = ctx.writer(req);
      ctx.registry.forget(req.params.name);
      ctx.logger.info({ agent: req.params.name, owner }, 'agent forgotten');
      return { forgotten: req.params.name };
    },
  );
  app.get<{ Params: AgentNameParams }>(
    '/api/v1/agents/:name',
    {
      schema: {
        summary: 'One agent\'s latest report',
        tags: ['agents'],
        security: securityOf(access),
        params: AgentNameParams,
        response: responses(access, { 200: { ...AgentRecord, description: "the agent's record" } }),
      },
    },
    async (req): Promise<AgentRecord> => {
      const rec = ctx.fleet ? (await ctx.fleet()).find((a) => a.name === req.params.name) : ctx.registry.get(req.params.name);
      if (!rec) throw new NftSyncError('NFTSYNC_ERR_AGENT_NOT_FOUND', `no agent ${JSON.stringify(req.params.name)} has connected since the server started`, { data: { agent: req.params.name } });
      return rec;
    },
  );
}
