/**
 * A replica forwards its agents' reports to the primary (POST /api/v1/agents/reports), so the
 * primary, and through it every server, lists the whole fleet; and answers GET /api/v1/agents
 * with the primary's list.
 *
 * Forwarding keeps the latest report per agent only: the names that changed are collected and
 * sent together at most every `intervalMs`, read from the registry at send time. A failed send
 * keeps the names for the next round, so a primary that was away gets every agent's latest
 * report when it is back. Batches stay under the primary's request body limit.
 *
 * The fleet the replica answers with is asked of the primary once for all callers at a time and
 * kept for `fleetCacheMs`: clients hammering a replica's GET /api/v1/agents (anyone, without
 * --read-token-required) must not become as many requests for the whole fleet at the primary.
 */
import type { Logger } from 'pino';
import type { AgentRecord, AgentRegistry, ForwardedReport } from '../agents/agent-registry.js';
import { SERVER_DEFAULTS } from '../defaults.js';
import { readBounded } from './read-bounded.js';

export interface ReportForwarderOptions {
  /** The primary's HTTP base, e.g. `http://primary:7401/`. */
  primary: string;
  token?: string;
  /** This replica's name, as the primary shows it (`via`). */
  via: string;
  registry: AgentRegistry;
  logger: Logger;
  /** Send at most this often (default SERVER_DEFAULTS.replica.forwardMs). */
  intervalMs?: number;
  /** Keep the primary's list of the fleet this long, in ms (default SERVER_DEFAULTS.replica.fleetCacheMs). */
  fleetCacheMs?: number;
}

/** Longest answer of the primary's GET /api/v1/agents read (its registry is bounded by --max-agents reports of 16 KiB). */
const MAX_FLEET_BYTES = 512 * 1024 * 1024;
/** Longest answer read to a batch of reports. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Largest batch body, well under fastify's default 1 MiB body limit. */
const MAX_BATCH_BYTES = 512 * 1024;

export class ReportForwarder {
  readonly #opts: ReportForwarderOptions;
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #stopped = false;
  /** Reports the primary kept so far (tests, metrics). */
  forwarded = 0;
  /** Times the primary was asked for the fleet (tests, metrics). */
  fleetRequests = 0;
  /** The primary's list being asked for, or asked for less than fleetCacheMs ago. */
  #fleet: { at: number; list: Promise<AgentRecord[]> } | undefined;

  constructor(opts: ReportForwarderOptions) {
    this.#opts = opts;
  }

  /** Note that `name`'s record changed; it is sent with the next batch. */
  changed(name: string): void {
    if (this.#stopped) return;
    this.#dirty.add(name);
    this.#timer ??= setTimeout(() => void this.#flush(), this.#opts.intervalMs ?? SERVER_DEFAULTS.replica.forwardMs);
  }

  /** Stop; resolves once a send in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#sending?.catch(() => {});
  }

  /**
   * The whole fleet: the primary's list, plus this replica's agents it does not list yet. This
   * replica's own list when the primary cannot be asked (logged).
   */
  async fleet(): Promise<AgentRecord[]> {
    const local = this.#opts.registry.list();
    try {
      const agents = await this.#primaryFleet();
      const names = new Set(agents.map((a) => a.name));
      return [...agents, ...local.filter((a) => !names.has(a.name)).map((a) => ({ ...a, via: this.#opts.via }))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      this.#opts.logger.warn({ err: (err as Error).message }, 'replica: cannot ask the primary for the fleet; answering with this replica\'s agents only');
      return local;
    }
  }

  /** The primary's list: one request at a time for every caller, kept fleetCacheMs (a failure is not kept). */
  #primaryFleet(): Promise<AgentRecord[]> {
    const keepMs = this.#opts.fleetCacheMs ?? SERVER_DEFAULTS.replica.fleetCacheMs;
    const now = Date.now();
    if (this.#fleet && now - this.#fleet.at < keepMs) return this.#fleet.list;
    const entry = { at: now, list: this.#askFleet() };
    this.#fleet = entry;
    entry.list.catch(() => {
      if (this.#fleet === entry) this.#fleet = undefined;
    });
    return entry.list;
  }

  async #askFleet(): Promise<AgentRecord[]> {
    this.fleetRequests += 1;
    const res = await fetch(new URL('/api/v1/agents', this.#opts.primary), { headers: this.#headers(), redirect: 'manual', signal: AbortSignal.timeout(SERVER_DEFAULTS.replica.openTimeoutMs) });
    if (!res.ok) {
      void res.body?.cancel().catch(() => {});
      throw new Error(`GET /api/v1/agents answered ${res.status}`);
    }
    const chunks: Uint8Array[] = [];
    await readBounded(res, MAX_FLEET_BYTES, (c) => chunks.push(c));
    const { agents } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { agents: AgentRecord[] };
    if (!Array.isArray(agents)) throw new Error('GET /api/v1/agents answered no list');
    return agents;
  }

  #headers(): Record<string, string> {
    return this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {};
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    if (this.#sending || this.#stopped) return;
    const names = [...this.#dirty];
    this.#dirty.clear();
    const reports: ForwardedReport[] = [];
    for (const name of names) {
      const rec = this.#opts.registry.get(name);
      if (rec?.status) reports.push({ status: rec.status, address: rec.address.slice(0, 100), connected: rec.connected });
    }
    this.#sending = this.#send(reports).catch((err: unknown) => {
      for (const name of names) this.#dirty.add(name);
      this.#opts.logger.warn({ err: (err as Error).message, reports: reports.length }, 'replica: cannot forward reports to the primary; trying again');
    });
    await this.#sending;
    this.#sending = undefined;
    if (this.#dirty.size > 0 && !this.#stopped) this.#timer ??= setTimeout(() => void this.#flush(), this.#opts.intervalMs ?? SERVER_DEFAULTS.replica.forwardMs);
  }

  async #send(reports: ForwardedReport[]): Promise<void> {
    let batch: ForwardedReport[] = [];
    let bytes = 0;
    const post = async () => {
      if (batch.length === 0) return;
      const res = await fetch(new URL('/api/v1/agents/reports', this.#opts.primary), {
        method: 'POST',
        headers: { ...this.#headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ via: this.#opts.via, reports: batch }),
        redirect: 'manual',
        signal: AbortSignal.timeout(SERVER_DEFAULTS.replica.openTimeoutMs),
      });
      // The answer is `{"kept":N}` (an error a few hundred bytes): read no more than that.
      const chunks: Uint8Array[] = [];
      await readBounded(res, MAX_ANSWER_BYTES, (c) => chunks.push(c));
      const text = Buffer.concat(chunks).toString('utf8');
      if (!res.ok) throw new Error(`POST /api/v1/agents/reports answered ${res.status}: ${text.slice(0, 200)}`);
      const { kept } = JSON.parse(text) as { kept?: unknown };
      if (typeof kept === 'number' && Number.isSafeInteger(kept) && kept >= 0) this.forwarded += Math.min(kept, batch.length);
      batch = [];
      bytes = 0;
    };
    for (const r of reports) {
      const size = Buffer.byteLength(JSON.stringify(r));
      if (batch.length >= 1000 || bytes + size > MAX_BATCH_BYTES) await post();
      batch.push(r);
      bytes += size;
    }
    await post();
  }
}
