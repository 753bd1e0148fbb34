/** `/api/v1/diff`: the object-level diff between two revisions. */
import type { FastifyInstance } from 'fastify';
import { DiffQuery, RevisionDiff } from '../../../shared/http/http-api.js';
import { diffRevisions, parsedRulesetCache } from '../../git/revision-diff.js';
import type { RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const access = 'read';

/** Register the diff route. */
export function diffRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const parsed = parsedRulesetCache();
  app.get<{ Querystring: DiffQuery }>(
    '/api/v1/diff',
    {
      schema: {
        summary: 'Object-level diff between two revisions: rulesets added/removed, and per changed ruleset its tables, chains, sets, objects, rules and elements added, removed or changed',
        tags: ['rulesets'],
        security: securityOf(access),
        querystring: DiffQuery,
        response: responses(access, { 200: RevisionDiff }),
      },
    },
    // The ruleset name is checked by assertRulesetName in diffRevisions, for its stable code.
    async (req): Promise<RevisionDiff> => diffRevisions(ctx.repository, req.query.from, req.query.to, req.query.ruleset, parsed),
  );
}
