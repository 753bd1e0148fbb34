/**
 * `GET /api/v1/refs/changes`: a long poll answered when a branch or tag moves, so a replica
 * (server --mirror-of) hears of a push at once and fetches it, instead of only at its next poll
 * of `info/refs`. The version is this process's count of ref moves behind a per-process prefix,
 * so a restarted server never answers a version a replica already holds.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RefChangesAnswer, RefChangesQuery } from '../../../shared/http/http-api.js';
import type { RouteContext } from './route-context.js';
import { responses, securityOf } from './route-schema.js';

const access = 'read';
const EPOCH = randomBytes(6).toString('hex');

/** Register the ref-change long poll (only when the server passes `onRefMove`). */
export function refRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRefMove = ctx.onRefMove;
  if (!onRefMove) return;
  const version = () => `${EPOCH}-${ctx.metrics.refMoves}`;
  app.get<{ Querystring: RefChangesQuery }>(
    '/api/v1/refs/changes',
    {
      schema: {
        summary: 'Wait (at most `wait` seconds) until a branch or tag moves after `since`; replicas use it to fetch each push at once',
        tags: ['meta'],
        security: securityOf(access),
        querystring: RefChangesQuery,
        response: responses(access, { 200: RefChangesAnswer }),
      },
    },
    async (req): Promise<RefChangesAnswer> => {
      if (req.query.since === undefined || req.query.since !== version()) return { version: version() };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          off();
          req.raw.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, (req.query.wait ?? 20) * 1000);
        const off = onRefMove(done);
        req.raw.once('close', done);
      });
      return { version: version() };
    },
  );
}
