/**
 * One agent as the HTTP API lists it (`GET /api/v1/agents`, `GET /api/v1/agents/:name`): the
 * server's registry keeps these, and the CLI's `status` reads them. Declared here, in the pure
 * core, so the CLI takes the API's shape from shared/ and not from the server's internals.
 */
import type { AgentStatus } from '../wire/messages.js';

export interface AgentRecord {
  name: string;
  status: AgentStatus | undefined;
  /** Remote address of the agent's latest connection. */
  address: string;
  connected: boolean;
  /** ISO time of the last frame received from the agent. */
  lastSeen: string;
}
