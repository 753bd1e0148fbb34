/**
 * `/api/v1/rulesets`: the rulesets at a ref, one ruleset (parsed, or its exact bytes with
 * `?raw=1`), and the commits that changed one.
 */
import type { FastifyInstance } from 'fastify';
import { NftSyncError } from '../../../shared/errors.js';
import {
  REVISIONS_DEFAULT_LIMIT,
  RulesetAnswer,
  RulesetList,
  RulesetNameParams,
  RulesetOrFile,
  RulesetQuery,
  RulesetRevisions,
  RulesetsQuery,
  RevisionsQuery,
} from '../../../shared/http/http-api.js';
import { assertRulesetName } from '../../../shared/ruleset/names.js';
import { parseRuleset } from '../../../shared/ruleset/ruleset-schema.js';
import { isShared } from '../../../shared/bytes/spare-buffer.js';
import { rulesetRevisions } from '../../git/ruleset-revisions.js';
import { DEFAULT_REF, type RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const paramErrors = { name: assertRulesetName };
const access = 'read';
const security = securityOf(access);

/** Register the ruleset routes. */
export function rulesetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const repo = ctx.repository;
  app.get<{ Querystring: RulesetsQuery }>(
    '/api/v1/rulesets',
    {
      schema: {
        summary: 'The rulesets at a ref (names and blob ids) and the commit the ref resolved to',
        tags: ['rulesets'],
        security,
        querystring: RulesetsQuery,
        response: responses(access, { 200: RulesetList }),
      },
    },
    async (req): Promise<RulesetList> => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const names = await repo.listRulesets(commit);
      const rulesets = await Promise.all(names.map(async (name) => ({ name, blob: (await repo.readRuleset(commit, name)).blob })));
      return { ref, commit, rulesets };
    },
  );

  app.get<{ Params: RulesetNameParams; Querystring: RulesetQuery }>(
    '/api/v1/rulesets/:name',
    {
      config: { paramErrors },
      schema: {
        summary: 'One ruleset at a ref: parsed JSON with its commit and blob id; ?raw=1 for the exact stored bytes (ETag: the blob id)',
        tags: ['rulesets'],
        security,
        params: RulesetNameParams,
        querystring: RulesetQuery,
        response: responses(access, {
          200: {
            ...RulesetOrFile,
            headers: {
              etag: { type: 'string', description: 'the blob id, quoted' },
              'x-nft-sync-commit': { type: 'string', description: 'the commit the ref resolved to' },
            },
          },
        }),
      },
    },
    async (req, reply) => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const { blob, bytes } = await repo.readRuleset(commit, req.params.name);
      void reply.header('etag', `"${blob}"`).header('x-nft-sync-commit', commit);
      // A text the element API made lies in shared memory (server/git/element-tips.ts), which
      // fastify takes for an object (it sends bytes over an ArrayBuffer only): sent as a copy.
      if (req.query.raw === '1' || req.query.raw === 'true') return reply.type('application/json').send(isShared(bytes) ? Buffer.from(bytes) : bytes);
      const answer: RulesetAnswer = { name: req.params.name, ref, commit, blob, ruleset: parseRuleset(bytes) };
      return answer;
    },
  );

  app.get<{ Params: RulesetNameParams; Querystring: RevisionsQuery }>(
    '/api/v1/rulesets/:name/revisions',
    {
      config: { paramErrors },
      schema: {
        summary: 'The commits that changed rulesets/NAME.json, newest first (commit, author, date, message)',
        tags: ['rulesets'],
        security,
        params: RulesetNameParams,
        querystring: RevisionsQuery,
        response: responses(access, { 200: RulesetRevisions }),
      },
    },
    async (req): Promise<RulesetRevisions> => {
      const ref = req.query.ref ?? DEFAULT_REF;
      const commit = await repo.resolveRef(ref);
      const revisions = await rulesetRevisions(repo.gitdir, commit, req.params.name, req.query.limit ?? REVISIONS_DEFAULT_LIMIT);
      if (revisions.length === 0) {
        throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `no commit reachable from ${ref} (${commit.slice(0, 12)}) ever had rulesets/${req.params.name}.json`, {
          data: { ruleset: req.params.name, commit },
        });
      }
      return { name: req.params.name, ref, commit, revisions };
    },
  );
}
