/**
 * `POST /api/v1/rulesets/{name}/sets/{family}/{table}/{set}/elements` (and `/maps/…/{map}/…`):
 * add and delete elements of one set or map as a commit on a branch (server/set-elements.ts).
 *
 * Changes to one branch made through this server are taken one at a time (a queue per branch,
 * server/http/routes/branch-queue.ts),
 * so parallel requests do not spend their attempts racing each other; the compare-and-swap in
 * changeSetElements still guards against pushes and other writers. A change to a big set takes
 * the fast path of server/git/element-tips.ts (kept per branch and ruleset for the app's life),
 * which hashes big texts in a worker thread (host/blob-id-thread.ts) and hands the wire server
 * the agents' delta and the ref watcher the move (RouteContext.elementEvents).
 */
import type { FastifyInstance } from 'fastify';
import { ElementsAnswer, ElementsChange, ElementsQuery, FoldAnswer, MapElementsParams, RulesetNameParams, SetElementsParams } from '../../../shared/http/http-api.js';
import { foldElementChanges } from '../../git/fold-elements.js';
import { assertRulesetName } from '../../../shared/ruleset/names.js';
import { changeSetElements } from '../../git/set-elements.js';
import { ElementTips } from '../../git/element-tips.js';
import { RefUpdater } from '../../../host/ref-updater.js';
import { BlobIdThread } from '../../../host/blob-id-thread.js';
import { branchQueue } from './branch-queue.js';
import { DEFAULT_REF, type RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

export { MAX_ELEMENTS_PER_CHANGE } from '../../../shared/http/http-api.js';

const access = 'write';
const PARAMS = { set: SetElementsParams, map: MapElementsParams } as const;

interface Route {
  Params: Partial<SetElementsParams & MapElementsParams> & Pick<SetElementsParams, 'name' | 'family' | 'table'>;
  Querystring: ElementsQuery;
  Body: ElementsChange;
}

/** Register the element routes (writes: they need a token when the server has a --token-file). */
export function elementRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const inTurn = branchQueue();
  // One kept tip per branch and ruleset: changes to a big set cost what they change.
  const refs = new RefUpdater(ctx.repository.gitdir);
  // Started with the first big tip (element-tips.ts), not here: most apps never change a big set.
  const blobIds = new BlobIdThread();
  const tips = new ElementTips({
    gitdir: ctx.repository.gitdir,
    refs,
    blobIds,
    prime: (base, changes, bytes, blob) => ctx.repository.primeComposed(base, changes, bytes, blob),
    primeChild: (commit, parent, ruleset, base, changes) => ctx.repository.primeChild(commit, parent, ruleset, base, changes),
    follow: (base, changes) => ctx.repository.followText(base, changes),
    ...ctx.elementEvents,
  });
  // The default branch's big rulesets are read at the start, in turn with its changes, so that
  // the first change after a restart does not take seconds (a replica takes no change).
  let warming: Promise<unknown> = Promise.resolve();
  if (!ctx.replica) {
    app.addHook('onReady', async () => {
      warming = inTurn(DEFAULT_REF, async () => {
        const warmed = await tips.warm(`refs/heads/${DEFAULT_REF}`);
        if (warmed.length > 0) ctx.logger.info({ branch: DEFAULT_REF, rulesets: warmed }, 'big rulesets read for the element API');
      });
    });
  }
  app.addHook('onClose', async () => {
    await warming;
    refs.close();
    tips.close();
    await blobIds.close();
  });
  for (const object of ['set', 'map'] as const) {
    app.post<Route>(
      `/api/v1/rulesets/:name/${object}s/:family/:table/:${object}/elements`,
      {
        config: { write: true, paramErrors: { name: assertRulesetName } },
        bodyLimit: 64 * 1024 * 1024,
        schema: {
          summary: `Add and delete elements of a ${object} of rulesets/NAME.json as one commit on a branch (author: the token's owner). Answers 201 {commit, branch, added, deleted} once the commit is on the branch; 200 with the branch's commit and zero counts when nothing changes (adds already present, deletes absent). Sets and maps share one name space: either path finds either.`,
          tags: ['elements'],
          security: securityOf(access),
          params: PARAMS[object],
          querystring: ElementsQuery,
          body: ElementsChange,
          response: responses(access, { 200: { ...ElementsAnswer, description: 'nothing changed (adds already present, deletes absent)' }, 201: { ...ElementsAnswer, description: 'the commit is on the branch' } }),
        },
      },
      async (req, reply) => {
        const owner = ctx.writer(req);
        const branch = req.query.branch ?? DEFAULT_REF;
        const set = { family: req.params.family, table: req.params.table, name: (req.params.set ?? req.params.map)! };
        const result = await inTurn(branch, () =>
          changeSetElements({ gitdir: ctx.repository.gitdir, branch, ruleset: req.params.name, set, owner, add: req.body.add, delete: req.body.delete, tips }));
        ctx.logger.info({ ruleset: req.params.name, set, branch, commit: result.commit, added: result.added, deleted: result.deleted, attempts: result.attempts, owner }, 'elements changed');
        const changed = result.commit !== result.previous;
        const answer: ElementsAnswer = { commit: result.commit, branch: result.branch, added: result.added, deleted: result.deleted, kind: result.kind, previous: result.previous, ...(result.folded ? { folded: result.folded } : {}) };
        return reply.status(changed ? 201 : 200).send(answer);
      },
    );
  }
  app.post<{ Params: RulesetNameParams; Querystring: ElementsQuery }>(
    '/api/v1/rulesets/:name/elements/fold',
    {
      config: { write: true, paramErrors: { name: assertRulesetName } },
      schema: {
        summary: "Fold the ruleset's element change files (rulesets/NAME.elements/) into rulesets/NAME.json as one commit on a branch (author: the token's owner); the effective ruleset is unchanged. 201 once the commit is on the branch; 200 with the branch's commit when there is nothing to fold.",
        tags: ['elements'],
        security: securityOf(access),
        params: RulesetNameParams,
        querystring: ElementsQuery,
        response: responses(access, { 200: { ...FoldAnswer, description: 'nothing to fold' }, 201: { ...FoldAnswer, description: 'the commit is on the branch' } }),
      },
    },
    async (req, reply) => {
      const owner = ctx.writer(req);
      const branch = req.query.branch ?? DEFAULT_REF;
      const result = await inTurn(branch, () => foldElementChanges({ gitdir: ctx.repository.gitdir, branch, ruleset: req.params.name, owner, compose: (base, changes) => ctx.repository.composeText(base, changes) }));
      ctx.logger.info({ ruleset: req.params.name, branch, commit: result.commit, folded: result.folded, owner }, 'element changes folded');
      const answer: FoldAnswer = { commit: result.commit, branch: result.branch, folded: result.folded, previous: result.previous };
      return reply.status(result.folded > 0 ? 201 : 200).send(answer);
    },
  );
}
