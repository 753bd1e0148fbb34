/**
 * The server's view of its agents: the latest status report of each, when it was last heard
 * from, and whether it is connected now. In memory: agents report again after every reconcile
 * and on every reconnect, so a restarted server learns the fleet again within one heartbeat.
 */
import type { AgentStatus } from '../shared/messages.js';

export interface AgentRecord {
  name: string;
  status: AgentStatus | undefined;
  /** Remote address of the agent's latest connection. */
  address: string;
  connected: boolean;
  /** ISO time of the last frame received from the agent. */
  lastSeen: string;
}

export class AgentRegistry {
  readonly #agents = new Map<string, AgentRecord & { connections: number }>();

  /** Note that `name` connected from `address`. */
  connected(name: string, address: string): void {
    const rec = this.#agents.get(name);
    const now = new Date().toISOString();
    if (rec) {
      rec.connections += 1;
      rec.connected = true;
      rec.address = address;
      rec.lastSeen = now;
    } else {
      this.#agents.set(name, { name, status: undefined, address, connected: true, lastSeen: now, connections: 1 });
    }
  }

  /** Note that one connection of `name` closed. */
  disconnected(name: string): void {
    const rec = this.#agents.get(name);
    if (!rec) return;
    rec.connections = Math.max(0, rec.connections - 1);
    rec.connected = rec.connections > 0;
  }

  /** Note any frame from `name`. */
  seen(name: string): void {
    const rec = this.#agents.get(name);
    if (rec) rec.lastSeen = new Date().toISOString();
  }

  /** Keep `status` as the latest report of its agent. */
  report(status: AgentStatus, address: string): void {
    const now = new Date().toISOString();
    const rec = this.#agents.get(status.agent);
    if (rec) {
      rec.status = status;
      rec.lastSeen = now;
      return;
    }
    // A report from a connection that did not name this agent in hello (plain TCP allows one
    // without a name): no connection of the agent is counted, since none will be disconnected.
    this.#agents.set(status.agent, { name: status.agent, status, address, connected: false, lastSeen: now, connections: 0 });
  }

  /** One agent's record, without internal counters. */
  get(name: string): AgentRecord | undefined {
    const rec = this.#agents.get(name);
    if (!rec) return undefined;
    const { connections: _c, ...pub } = rec;
    return pub;
  }

  /** Every agent's record, sorted by name. */
  list(): AgentRecord[] {
    return [...this.#agents.keys()].sort().map((n) => this.get(n)!);
  }
}
