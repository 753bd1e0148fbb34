/**
 * `POST /api/v1/rulesets/{name}/sets/{family}/{table}/{set}/elements` (and `/maps/…/{map}/…`):
 * add and delete elements of one set or map as a commit on a branch (server/set-elements.ts).
 *
 * Changes to one branch made through this server are taken one at a time (a queue per branch),
 * so parallel requests do not spend their attempts racing each other; the compare-and-swap in
 * changeSetElements still guards against pushes and other writers.
 */
import type { FastifyInstance } from 'fastify';
import { assertRulesetName, RULESET_NAME_PATTERN } from '../../../shared/ruleset/names.js';
import { NFT_NAME_PATTERN } from '../../../shared/ruleset/ruleset-schema.js';
import { FAMILIES } from '../../../shared/ruleset/ruleset-types.js';
import { changeSetElements } from '../../git/set-elements.js';
import { DEFAULT_REF, type RouteContext } from './route-context.js';

const NAME = { type: 'string', pattern: NFT_NAME_PATTERN } as const;
/** Most elements one request may add and delete, together. */
export const MAX_ELEMENTS_PER_CHANGE = 1_000_000;

function params(object: 'set' | 'map') {
  return {
    type: 'object',
    required: ['name', 'family', 'table', object],
    properties: {
      name: { type: 'string', pattern: RULESET_NAME_PATTERN, description: 'ruleset name (rulesets/NAME.json)' },
      family: { type: 'string', enum: [...FAMILIES], description: 'the table\'s family (ip, ip6, inet, arp, bridge, netdev)' },
      table: { ...NAME, description: 'the table holding the set' },
      [object]: { ...NAME, description: `the ${object}'s name` },
    },
  } as const;
}

const BODY = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    add: { type: 'array', maxItems: MAX_ELEMENTS_PER_CHANGE, description: 'elements to add, in libnftables JSON: "198.18.0.1", "198.18.0.0/24", {"elem": {"val": …, "timeout": SECONDS}}; a map element is [KEY, VALUE]' },
    delete: { type: 'array', maxItems: MAX_ELEMENTS_PER_CHANGE, description: 'elements to delete, written the same way (a map element by its key)' },
  },
} as const;

const QUERY = { type: 'object', additionalProperties: false, properties: { branch: { type: 'string', minLength: 1, maxLength: 255, description: 'branch to change (default main)' } } } as const;

interface Route {
  Params: { name: string; family: string; table: string; set?: string; map?: string };
  Querystring: { branch?: string };
  Body: { add?: unknown[]; delete?: unknown[] };
}

/** Register the element routes (writes: they need a token when the server has a --token-file). */
export function elementRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const queues = new Map<string, Promise<unknown>>();
  /** Run `job` after every earlier job on `branch`, whatever became of them. */
  const inTurn = <T>(branch: string, job: () => Promise<T>): Promise<T> => {
    const run = (queues.get(branch) ?? Promise.resolve()).then(job, job);
    const tail = run.catch(() => undefined);
    queues.set(branch, tail);
    void tail.then(() => queues.get(branch) === tail && queues.delete(branch));
    return run;
  };
  for (const object of ['set', 'map'] as const) {
    app.post<Route>(
      `/api/v1/rulesets/:name/${object}s/:family/:table/:${object}/elements`,
      {
        config: { write: true, paramErrors: { name: assertRulesetName } },
        bodyLimit: 64 * 1024 * 1024,
        schema: {
          summary: `Add and delete elements of a ${object} of rulesets/NAME.json as one commit on a branch (author: the token's owner). Answers 201 {commit, branch, added, deleted} once the commit is on the branch; 200 with the branch's commit and zero counts when nothing changes (adds already present, deletes absent). Sets and maps share one name space: either path finds either.`,
          tags: ['elements'],
          params: params(object),
          querystring: QUERY,
          body: BODY,
        },
      },
      async (req, reply) => {
        const owner = ctx.writer(req);
        const branch = req.query.branch ?? DEFAULT_REF;
        const set = { family: req.params.family, table: req.params.table, name: (req.params.set ?? req.params.map)! };
        const result = await inTurn(branch, () =>
          changeSetElements({ gitdir: ctx.repository.gitdir, branch, ruleset: req.params.name, set, owner, add: req.body.add, delete: req.body.delete }));
        ctx.logger.info({ ruleset: req.params.name, set, branch, commit: result.commit, added: result.added, deleted: result.deleted, attempts: result.attempts, owner }, 'elements changed');
        const changed = result.commit !== result.previous;
        return reply.status(changed ? 201 : 200).send({ commit: result.commit, branch: result.branch, added: result.added, deleted: result.deleted, kind: result.kind, previous: result.previous });
      },
    );
  }
}
