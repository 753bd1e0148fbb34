/**
 * `/api/v1/rollouts`: staged rollouts (nft-sync.yaml `rollouts:`), each named by its branch, or
 * `tags:PATTERN` for a tracked tag pattern (URL-encode `/`, `:` and `*` in the path). Resume and
 * abort are writes.
 */
import type { FastifyInstance } from 'fastify';
import { NftSyncError } from '../../../shared/errors.js';
import { RolloutAnswer, RolloutList, RolloutNameParams } from '../../../shared/http/http-api.js';
import type { RolloutRegistry, RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

/** Register the rollout routes. */
export function rolloutRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const rollouts = (name: string): RolloutRegistry => {
    if (ctx.rollouts) return ctx.rollouts;
    throw new NftSyncError('NFTSYNC_ERR_ROLLOUT_NOT_FOUND', `no rollout for ${JSON.stringify(name)}: this server keeps no rollouts`, { data: { rollout: name } });
  };
  app.get(
    '/api/v1/rollouts',
    {
      schema: {
        summary: 'Every rollout: running, halted, aborted or complete, with its waves, previous and target revisions',
        tags: ['rollouts'],
        security: securityOf('read'),
        response: responses('read', { 200: RolloutList }),
      },
    },
    async (): Promise<RolloutList> => ({ rollouts: ctx.rollouts?.list() ?? [] }),
  );
  app.get<{ Params: RolloutNameParams }>(
    '/api/v1/rollouts/:name',
    {
      schema: {
        summary: 'One rollout (the branch name, or tags:PATTERN)',
        tags: ['rollouts'],
        security: securityOf('read'),
        params: RolloutNameParams,
        response: responses('read', { 200: RolloutAnswer }),
      },
    },
    async (req): Promise<RolloutAnswer> => rollouts(req.params.name).get(req.params.name),
  );
  /** A write on one rollout (resume or abort): the writer's token checked, the act logged. */
  const action = (verb: 'resume' | 'abort', summary: string, done: string): void => {
    app.post<{ Params: RolloutNameParams }>(
      `/api/v1/rollouts/:name/${verb}`,
      {
        config: { write: true },
        schema: {
          summary,
          tags: ['rollouts'],
          security: securityOf('write'),
          params: RolloutNameParams,
          response: responses('write', { 200: RolloutAnswer }),
        },
      },
      async (req): Promise<RolloutAnswer> => {
        const owner = ctx.writer(req);
        const view = rollouts(req.params.name)[verb](req.params.name);
        ctx.logger.info({ rollout: req.params.name, owner, wave: view.wave }, done);
        return view;
      },
    );
  };
  action('resume', 'Resume a halted or waiting rollout: the current wave counts as done and the next wave is served the new revision', 'rollout resumed');
  action('abort', 'Abort a running or halted rollout: every agent is served the previous revision again; the branch is not moved', 'rollout aborted');
}
