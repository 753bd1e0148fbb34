/** `POST /api/v1/rollback`: a new commit on a branch with the rulesets of an earlier revision. */
import type { FastifyInstance } from 'fastify';
import { rollbackBranch } from '../../git/rollback.js';
import { REF_PARAM, type RouteContext } from './route-context.js';

/** Register the rollback route (a write: needs a token when the server has a --token-file). */
export function rollbackRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Body: { branch: string; to: string } }>(
    '/api/v1/rollback',
    {
      config: { write: true },
      schema: {
        summary: 'Make a new commit on BRANCH whose rulesets/ and nft-sync.yaml equal those at TO (history kept; the ref moves by compare-and-swap, retried if a push lands meanwhile)',
        tags: ['rollback'],
        body: { type: 'object', additionalProperties: false, required: ['branch', 'to'], properties: { branch: REF_PARAM, to: REF_PARAM } },
      },
    },
    async (req, reply) => {
      const owner = ctx.writer(req);
      const target = await ctx.repository.resolveRef(req.body.to);
      const result = await rollbackBranch({ gitdir: ctx.repository.gitdir, branch: req.body.branch, target, targetName: req.body.to, owner });
      ctx.metrics.rollbacks += 1;
      ctx.logger.info({ ...result, owner }, 'rollback');
      return reply.status(201).send({ ...result, owner });
    },
  );
}
