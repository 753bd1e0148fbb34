/**
 * `/api/v1/rulesets`: the rulesets at a ref, one ruleset (parsed, or its exact bytes with
 * `?raw=1`), and the commits that changed one.
 */
import type { FastifyInstance } from 'fastify';
import { NftSyncError } from '../../../shared/errors.js';
import { assertRulesetName, RULESET_NAME_PATTERN } from '../../../shared/ruleset/names.js';
import { parseRuleset } from '../../../shared/ruleset/ruleset-schema.js';
import { rulesetRevisions } from '../../git/ruleset-revisions.js';
import { DEFAULT_REF, REF_PARAM, type RouteContext } from './route-context.js';

const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: RULESET_NAME_PATTERN, description: 'ruleset name (rulesets/NAME.json)' } } } as const;
const paramErrors = { name: assertRulesetName };

/** Register the ruleset routes. */
export function rulesetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const repo = ctx.repository;
  app.get<{ Querystring: { ref?: string } }>(
    '/api/v1/rulesets',
    {
      schema: {
        summary: 'The rulesets at a ref (names and blob ids) and the commit the ref resolved to',
        tags: ['rulesets'],
        querystring: { type: 'object', additionalProperties: false, properties: { ref: REF_PARAM } },
      },
    },
    async (req) => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const names = await repo.listRulesets(commit);
      const rulesets = await Promise.all(names.map(async (name) => ({ name, blob: (await repo.readRuleset(commit, name)).blob })));
      return { ref, commit, rulesets };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { ref?: string; raw?: string } }>(
    '/api/v1/rulesets/:name',
    {
      config: { paramErrors },
      schema: {
        summary: 'One ruleset at a ref: parsed JSON with its commit and blob id; ?raw=1 for the exact stored bytes (ETag: the blob id)',
        tags: ['rulesets'],
        params: NAME_PARAMS,
        querystring: { type: 'object', additionalProperties: false, properties: { ref: REF_PARAM, raw: { type: 'string', enum: ['0', '1', 'false', 'true'], description: 'raw=1: answer the stored bytes as they are' } } },
      },
    },
    async (req, reply) => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const { blob, bytes } = await repo.readRuleset(commit, req.params.name);
      void reply.header('etag', `"${blob}"`).header('x-nft-sync-commit', commit);
      if (req.query.raw === '1' || req.query.raw === 'true') return reply.type('application/json').send(bytes);
      return { name: req.params.name, ref, commit, blob, ruleset: parseRuleset(bytes) };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { ref?: string; limit?: number } }>(
    '/api/v1/rulesets/:name/revisions',
    {
      config: { paramErrors },
      schema: {
        summary: 'The commits that changed rulesets/NAME.json, newest first (commit, author, date, message)',
        tags: ['rulesets'],
        params: NAME_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ref: REF_PARAM, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'most commits returned (1-1000, default 50)' } },
        },
      },
    },
    async (req) => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const revisions = await rulesetRevisions(repo.gitdir, commit, req.params.name, req.query.limit ?? 50);
      if (revisions.length === 0) {
        throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `no commit reachable from ${ref} (${commit.slice(0, 12)}) ever had rulesets/${req.params.name}.json`, {
          data: { ruleset: req.params.name, commit },
        });
      }
      return { name: req.params.name, ref, commit, revisions };
    },
  );
}
