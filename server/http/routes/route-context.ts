/**
 * What every route file receives, and the per-route `config` the app understands: `write` marks a
 * route that needs write authorisation; `public` one that never needs a read token; `ownAuth` one
 * that does its own (git); `paramErrors` turns a path parameter that failed its JSON
 * schema into the domain's own error (a bad ruleset name is NFTSYNC_ERR_RULESET_NAME_INVALID, not
 * a generic validation error).
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AgentRecord, AgentRegistry } from '../../agents/agent-registry.js';
import type { RulesetRepository } from '../../git/ruleset-repository.js';
import type { ServerMetrics } from '../server-metrics.js';
import type { ReplicaHealth } from '../../replica/replica-health.js';
import type { RolloutView } from '../../rollout/rollout-controller.js';
import type { ElementTipsOptions } from '../../git/element-tips.js';

/** The rollouts the API shows and acts on (server/rollout/rollout-controller.ts). */
export interface RolloutRegistry {
  list(): RolloutView[];
  get(name: string): RolloutView;
  resume(name: string): RolloutView;
  abort(name: string): RolloutView;
}

export interface RouteContext {
  repository: RulesetRepository;
  registry: AgentRegistry;
  metrics: ServerMetrics;
  logger: Logger;
  /** Open wire connections now (for /metrics). */
  wireConnections(): number;
  /**
   * The owner of the request's write credentials. Throws NFTSYNC_ERR_AUTH_REQUIRED (no or wrong
   * token) or NFTSYNC_ERR_API_WRITES_DISABLED. Write routes also get it checked in an onRequest hook, before the body is read.
   */
  writer(req: FastifyRequest): string;
  /**
   * On a replica: the whole fleet's agents as the primary knows them (server/replica/
   * fleet-view.ts), answered by GET /api/v1/agents instead of this server's own registry.
   */
  fleet?: () => Promise<AgentRecord[]>;
  /** Call `listener` after the next ref moves; returns how to stop listening (ref-routes.ts). */
  onRefMove?: (listener: () => void) => () => void;
  /** Staged rollouts; none: the server keeps none. */
  rollouts?: RolloutRegistry;
  /** On a replica: how its mirror follows the primary (for /readyz and /metrics). */
  replica?: () => ReplicaHealth;
  /**
   * What the element API hands the rest of the server (start-server.ts): the delta it worked out
   * for the agents holding the revision before (the wire server's AnswerFrames.primeDelta),
   * before the branch moves, the same delta to send ahead of `moved` (WireServer.ahead),
   * and that it moved a branch (RefWatcher.refsWritten: agents told at once). Absent: agents hear of the change through the ref watcher and work the delta out on fetch.
   */
  elementEvents?: Pick<ElementTipsOptions, 'delta' | 'ahead' | 'moved'>;
}


export interface RouteConfig {
  write?: boolean;
  /** Open to all even with --read-token-required (health, readiness, metrics, the API's description). */
  public?: boolean;
  /** The route checks credentials itself (git over HTTP: basic auth) and streams its body. */
  ownAuth?: boolean;
  paramErrors?: Record<string, (value: string) => void>;
}

/** The default ref when a request names none. */
export const DEFAULT_REF = 'main';

// Routes declare their RouteConfig in fastify's `config`.
declare module 'fastify' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface FastifyContextConfig extends RouteConfig {}
}
