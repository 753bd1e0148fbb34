/**
 * The HTTP API's shapes, in the pure core so the CLI takes them from shared/ and not from the
 * server's internals. AgentRecord: one agent as `GET /api/v1/agents` lists it; the server's
 * registry keeps these and `nft-sync status` reads them.
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
