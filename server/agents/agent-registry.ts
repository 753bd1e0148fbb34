/**
 * The server's view of its agents: the latest status report of each, when it was last heard
 * from, and whether it is connected now. In memory: agents report again after every reconcile
 * and on every reconnect, so a restarted server learns the fleet again within one heartbeat.
 *
 * Bounded, because clients choose the names: at most `maxAgents` records (default 10,000), each
 * report at most MAX_REPORT_BYTES (checked by the session), so the registry holds at most about
 * 160 MiB and `GET /api/v1/agents` always fits in one response. An agent that is not connected and
 * has not been heard from for `evictAfterMs` (default 7 days) is forgotten when room is needed or
 * the list is read; with no such agent to forget, a new name is refused with
 * NFTSYNC_ERR_AGENT_REGISTRY_FULL (agents already known keep reporting).
 */
import { NftSyncError } from '../../shared/errors.js';
import type { AgentRecord } from '../../shared/http/http-api.js';
import type { AgentStatus } from '../../shared/wire/messages.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** An agent's record, as GET /api/v1/agents answers it (its schema: shared/http/http-api.ts). */
export type { AgentRecord } from '../../shared/http/http-api.js';

export interface AgentRegistryOptions {
  /** Most agents remembered (default 10,000). */
  maxAgents?: number;
  /** An agent not connected and unseen for this long is forgotten (default 7 days). */
  evictAfterMs?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
  /** Called with an agent's name after it reported or one of its connections closed (a replica forwards it). */
  onChange?: (name: string) => void;
}

/** A report forwarded by a replica (POST /api/v1/agents/reports). */
export interface ForwardedReport {
  status: AgentStatus;
  /** The agent's address, as the replica saw it. */
  address: string;
  /** Whether the agent is connected to the replica. */
  connected: boolean;
}

/** Defaults, in one place. */
export const AGENT_REGISTRY_DEFAULTS = SERVER_DEFAULTS.registry;

interface Entry {
  name: string;
  status: AgentStatus | undefined;
  address: string;
  connections: number;
  lastSeenMs: number;
  /** The replica whose forwarded report this is, and whether the agent is connected there. */
  via?: { server: string; connected: boolean };
}

export class AgentRegistry {
  readonly #agents = new Map<string, Entry>();
  readonly #max: number;
  readonly #evictAfterMs: number;
  readonly #now: () => number;
  readonly #onChange: ((name: string) => void) | undefined;

  constructor(opts: AgentRegistryOptions = {}) {
    this.#onChange = opts.onChange;
    this.#max = opts.maxAgents ?? AGENT_REGISTRY_DEFAULTS.maxAgents;
    this.#evictAfterMs = opts.evictAfterMs ?? AGENT_REGISTRY_DEFAULTS.evictAfterMs;
    this.#now = opts.now ?? Date.now;
  }

  /** Number of agents remembered. */
  get size(): number {
    return this.#agents.size;
  }

  /**
   * Note that `name` connected from `address`. Returns false, remembering nothing, when `name`
   * is new and the registry is full (the connection itself may go on: fetches need no record).
   */
  connected(name: string, address: string): boolean {
    const rec = this.#agents.get(name) ?? this.#admit(name, address);
    if (!rec) return false;
    rec.connections += 1;
    rec.address = address;
    rec.lastSeenMs = this.#now();
    return true;
  }

  /** Note that one connection of `name` closed. */
  disconnected(name: string): void {
    const rec = this.#agents.get(name);
    if (rec) rec.connections = Math.max(0, rec.connections - 1);
    if (rec) this.#onChange?.(name);
  }

  /** Note any frame from `name`. */
  seen(name: string): void {
    const rec = this.#agents.get(name);
    if (rec) rec.lastSeenMs = this.#now();
  }

  /**
   * Keep `status` as the latest report of its agent. Throws NFTSYNC_ERR_AGENT_REGISTRY_FULL
   * when the agent is new and no room can be made.
   */
  report(status: AgentStatus, address: string): void {
    const rec = this.#agents.get(status.agent) ?? this.#admit(status.agent, address);
    if (!rec) {
      throw new NftSyncError('NFTSYNC_ERR_AGENT_REGISTRY_FULL', `the server already tracks ${this.#max} agents, none of them gone for long enough to forget; report from ${status.agent} not kept: raise the server's --max-agents`, {
        data: { agent: status.agent, maxAgents: this.#max },
      });
    }
    rec.status = status;
    rec.lastSeenMs = this.#now();
    rec.via = undefined;
    this.#onChange?.(status.agent);
  }

  /**
   * Keep a report a replica forwarded (`via` names the replica). An agent connected here keeps
   * its own record. Throws NFTSYNC_ERR_AGENT_REGISTRY_FULL as `report`.
   */
  forwarded(report: ForwardedReport, via: string): void {
    const existing = this.#agents.get(report.status.agent);
    if (existing && existing.connections > 0) return;
    this.report(report.status, report.address);
    const rec = this.#agents.get(report.status.agent)!;
    rec.via = { server: via, connected: report.connected };
  }

  /**
   * Forget `name` (a retired host), so lists no longer show it; it is listed again if it reports
   * later. Errors: NFTSYNC_ERR_AGENT_NOT_FOUND (not known), NFTSYNC_ERR_AGENT_CONNECTED (connected
   * here, or to the replica that forwards its reports).
   */
  forget(name: string): void {
    const rec = this.#agents.get(name);
    if (!rec) throw new NftSyncError('NFTSYNC_ERR_AGENT_NOT_FOUND', `no agent ${JSON.stringify(name)} is known to this server`, { data: { agent: name } });
    if (rec.connections > 0 || rec.via?.connected === true) {
      const where = rec.connections > 0 ? 'to this server' : `to the replica ${rec.via!.server}`;
      throw new NftSyncError('NFTSYNC_ERR_AGENT_CONNECTED', `agent ${JSON.stringify(name)} is connected ${where} and would report again at once: stop its agent first, then forget it`, { data: { agent: name } });
    }
    this.#agents.delete(name);
  }

  /** One agent's record, without internal counters. */
  get(name: string): AgentRecord | undefined {
    const rec = this.#agents.get(name);
    if (!rec) return undefined;
    return {
      name: rec.name,
      status: rec.status,
      address: rec.address,
      connected: rec.connections > 0 || rec.via?.connected === true,
      lastSeen: new Date(rec.lastSeenMs).toISOString(),
      ...(rec.via && { via: rec.via.server }),
    };
  }

  /** Every agent's record, sorted by name (agents gone long enough are forgotten first). */
  list(): AgentRecord[] {
    this.#evictStale();
    return [...this.#agents.keys()].sort().map((n) => this.get(n)!);
  }

  /** A new entry for `name`, making room if needed; undefined when full. */
  #admit(name: string, address: string): Entry | undefined {
    if (this.#agents.size >= this.#max) this.#evictStale();
    if (this.#agents.size >= this.#max) return undefined;
    const rec: Entry = { name, status: undefined, address, connections: 0, lastSeenMs: this.#now() };
    this.#agents.set(name, rec);
    return rec;
  }

  #evictStale(): void {
    const cutoff = this.#now() - this.#evictAfterMs;
    for (const [name, rec] of this.#agents) if (rec.connections === 0 && rec.via?.connected !== true && rec.lastSeenMs < cutoff) this.#agents.delete(name);
  }
}
