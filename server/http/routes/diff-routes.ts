/** `/api/v1/diff`: the object-level diff between two revisions. */
import type { FastifyInstance } from 'fastify';
import { diffRevisions, parsedRulesetCache } from '../../git/revision-diff.js';
import { REF_PARAM, type RouteContext } from './route-context.js';

/** Register the diff route. */
export function diffRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const parsed = parsedRulesetCache();
  app.get<{ Querystring: { from: string; to: string; ruleset?: string } }>(
    '/api/v1/diff',
    {
      schema: {
        summary: 'Object-level diff between two revisions: rulesets added/removed, and per changed ruleset its tables, chains, sets, objects, rules and elements added, removed or changed',
        tags: ['rulesets'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['from', 'to'],
          properties: { from: REF_PARAM, to: REF_PARAM, ruleset: { type: 'string', maxLength: 64, description: 'limit the diff to this ruleset' } },
        },
      },
    },
    // The ruleset name is checked by assertRulesetName in diffRevisions, for its stable code.
    async (req) => diffRevisions(ctx.repository, req.query.from, req.query.to, req.query.ruleset, parsed),
  );
}
