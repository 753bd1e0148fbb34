/** `POST /api/v1/rollback`: a new commit on a branch with the rulesets of an earlier revision. */
import type { FastifyInstance } from 'fastify';
import { RollbackAnswer, RollbackRequest } from '../../../shared/http/http-api.js';
import { rollbackBranch } from '../../git/rollback.js';
import type { RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const access = 'write';

/** Register the rollback route (a write: needs a token when the server has a --token-file). */
export function rollbackRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Body: RollbackRequest }>(
    '/api/v1/rollback',
    {
      config: { write: true },
      schema: {
        summary: 'Make a new commit on BRANCH whose rulesets/ and nft-sync.yaml equal those at TO (history kept; the ref moves by compare-and-swap, retried if a push lands meanwhile)',
        tags: ['rollback'],
        security: securityOf(access),
        body: RollbackRequest,
        response: responses(access, { 201: RollbackAnswer }),
      },
    },
    async (req, reply) => {
      const owner = ctx.writer(req);
      const target = await ctx.repository.resolveRef(req.body.to);
      const result = await rollbackBranch({ gitdir: ctx.repository.gitdir, branch: req.body.branch, target, targetName: req.body.to, owner });
      ctx.metrics.rollbacks += 1;
      ctx.logger.info({ ...result, owner }, 'rollback');
      const answer: RollbackAnswer = { ...result, owner };
      return reply.status(201).send(answer);
    },
  );
}
